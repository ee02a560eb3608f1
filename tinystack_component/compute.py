"""The compute tier: an ECS cluster of EC2 container instances, balanced over the app subnets of every AZ.

Launch template → Auto Scaling group → capacity provider → cluster default strategy. The tasks that run on it are
in `service.py`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi_aws as aws

from .context import StackContext
from .machines import METADATA_OPTIONS, ecs_optimized_ami, encrypted_root_mapping, launch_template_interface
from .network import Network
from .roles import SSM_MANAGED_INSTANCE_CORE, instance_profile
from .security import SecurityGroups
from .validation import Settings, uses_session_manager

ROOT_VOLUME_GB = 30  # the ECS-optimized AL2023 AMI's own root size


@dataclass(frozen=True)
class Cluster:
    cluster: aws.ecs.Cluster
    capacity_provider: aws.ecs.CapacityProvider
    auto_scaling_group: aws.autoscaling.Group
    default_strategy: aws.ecs.ClusterCapacityProviders


def build_cluster(
    ctx: StackContext,
    settings: Settings,
    network: Network,
    groups: SecurityGroups,
    endpoints: Sequence[aws.ec2.VpcEndpoint] = (),
) -> Cluster:
    """`endpoints`: the isolated stack's interface endpoints, which the instances need from their first boot."""
    cluster = aws.ecs.Cluster(
        ctx.child("cluster"),
        # ECS.12: Container Insights.
        settings=[{"name": "containerInsights", "value": "enabled"}],
        tags=ctx.tags("cluster"),
        opts=ctx.opts(),
    )
    launch_template = _launch_template(ctx, settings, cluster, groups)
    group = _auto_scaling_group(ctx, settings, network, launch_template, endpoints)
    capacity_provider = aws.ecs.CapacityProvider(
        ctx.child("capacity-provider"),
        auto_scaling_group_provider={
            "auto_scaling_group_arn": group.arn,
            # Scale-in never terminates an instance that still runs a task.
            "managed_termination_protection": "ENABLED",
            "managed_draining": "ENABLED",
            "managed_scaling": {
                "status": "ENABLED",
                "target_capacity": 100,
                "minimum_scaling_step_size": 1,
                "maximum_scaling_step_size": settings.max_count,
            },
        },
        tags=ctx.tags("capacity-provider"),
        opts=ctx.opts(),
    )
    default_strategy = aws.ecs.ClusterCapacityProviders(
        ctx.child("cluster-capacity-providers"),
        cluster_name=cluster.name,
        capacity_providers=[capacity_provider.name],
        default_capacity_provider_strategies=[{"capacity_provider": capacity_provider.name, "weight": 1, "base": 0}],
        opts=ctx.opts(),
    )
    return Cluster(cluster, capacity_provider, group, default_strategy)


def _user_data(cluster_name: str) -> str:
    # The agent writes the app's logs with the task execution role, so the instance role needs no log actions.
    script = (
        "#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'EOF'\n"
        f"ECS_CLUSTER={cluster_name}\nECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true\nEOF\n"
    )
    return base64.b64encode(script.encode()).decode()


def ecs_agent_policy(cluster_arn: str) -> str:
    """What the ECS agent needs, scoped to this cluster, as the CDK scopes it (in place of the managed
    AmazonEC2ContainerServiceforEC2Role, which lets an instance join or create any cluster of the account)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "JoinThisCluster",
                    "Effect": "Allow",
                    "Action": ["ecs:DeregisterContainerInstance", "ecs:RegisterContainerInstance", "ecs:Submit*"],
                    "Resource": cluster_arn,
                },
                {
                    # They act on a container instance, which does not exist yet: the condition names the cluster.
                    "Sid": "TalkToThisClusterOnly",
                    "Effect": "Allow",
                    "Action": ["ecs:Poll", "ecs:StartTelemetrySession"],
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
                },
                {
                    # Neither takes a resource.
                    "Sid": "FindTheEndpoints",
                    "Effect": "Allow",
                    "Action": ["ecs:DiscoverPollEndpoint", "ecr:GetAuthorizationToken"],
                    "Resource": "*",
                },
            ],
        }
    )


def _launch_template(
    ctx: StackContext, settings: Settings, cluster: aws.ecs.Cluster, groups: SecurityGroups
) -> aws.ec2.LaunchTemplate:
    # Session Manager only where its APIs are reachable: through the NAT, or the ssm endpoints in isolated mode.
    session_manager = [SSM_MANAGED_INSTANCE_CORE] if settings.nat or uses_session_manager(settings) else []
    profile = instance_profile(ctx, "container-instance", session_manager)
    agent_policy = aws.iam.RolePolicy(
        ctx.child("container-instance-ecs-agent"),
        role=profile.role,
        policy=cluster.arn.apply(ecs_agent_policy),
        opts=ctx.opts(),
    )
    instance_tags = ctx.tags("container-instance")
    return aws.ec2.LaunchTemplate(
        ctx.child("container-instances"),
        image_id=ecs_optimized_ami(ctx, settings.instance_type),
        instance_type=settings.instance_type,
        user_data=cluster.name.apply(_user_data),
        iam_instance_profile={"arn": profile.arn},
        metadata_options=METADATA_OPTIONS,
        network_interfaces=[launch_template_interface(groups.containers.id, public=False)],
        block_device_mappings=encrypted_root_mapping(ROOT_VOLUME_GB),
        tag_specifications=[
            {"resource_type": "instance", "tags": instance_tags},
            {"resource_type": "volume", "tags": instance_tags},
        ],
        update_default_version=True,
        tags=ctx.tags("container-instances"),
        # An instance that boots before its role may register never joins the cluster.
        opts=ctx.opts(depends_on=[agent_policy]),
    )


def _auto_scaling_group(
    ctx: StackContext,
    settings: Settings,
    network: Network,
    launch_template: aws.ec2.LaunchTemplate,
    endpoints: Sequence[aws.ec2.VpcEndpoint],
) -> aws.autoscaling.Group:
    tags = {**ctx.tags("container-instance"), "AmazonECSManaged": "true"}
    return aws.autoscaling.Group(
        ctx.child("asg"),
        # Exactly the app subnets, one per AZ: the group keeps the instances balanced over the zones.
        vpc_zone_identifiers=network.app_subnet_ids,
        min_size=settings.instance_count,
        max_size=settings.max_count,
        desired_capacity=settings.instance_count,
        launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
        protect_from_scale_in=True,
        health_check_type="EC2",
        tags=[{"key": key, "value": value, "propagate_at_launch": True} for key, value in tags.items()],
        # The capacity provider's managed scaling owns the desired capacity once the group exists. Isolated: an
        # agent that boots before the endpoints' private DNS answers never registers, and on destroy the
        # endpoints must outlive the instances' draining.
        opts=ctx.opts(ignore_changes=["desired_capacity"], depends_on=list(endpoints)),
    )
