"""IAM roles and instance profiles, each trusted by one AWS service and given only the named managed policies.

Every other permission is an inline policy scoped to the stack's own resources, next to the tier that needs it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from .context import StackContext

# Written in the commercial partition; each role attaches them in the provider's own (aws-cn, aws-us-gov).
SSM_MANAGED_INSTANCE_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
RDS_ENHANCED_MONITORING = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"

# The one allow-list of least privilege (tests/test_roles.py holds every role of the stack to it): a write action
# may have "Resource": "*" only when AWS gives it no resource to name, and each such action says why here.
WILDCARD_WRITE_ACTIONS = {
    "ecs:Poll": "acts on a container instance that does not exist yet; the ecs:cluster condition names the cluster",
    "ecs:StartTelemetrySession": "as ecs:Poll: scoped by the ecs:cluster condition",
    "ecs:DiscoverPollEndpoint": "takes no resource: it returns the endpoint the ECS agent polls",
    "ecr:GetAuthorizationToken": "takes no resource: a registry login token, not access to any repository",
}
# AWS-managed policies a role may carry, each with why a scoped inline policy cannot replace it.
MANAGED_POLICIES = {
    SSM_MANAGED_INSTANCE_CORE: "Session Manager and the SSM agent: ssm, ssmmessages and ec2messages actions take no "
    "resource an instance could name before it registers",
    RDS_ENHANCED_MONITORING: "the RDS monitoring service's own policy, scoped by AWS to the RDSOSMetrics log group",
}


def service_role(ctx: StackContext, suffix: str, service: str, managed_policy_arns: Sequence[str] = ()) -> aws.iam.Role:
    return service_role_with_attachments(ctx, suffix, service, managed_policy_arns)[0]


def service_role_with_attachments(
    ctx: StackContext, suffix: str, service: str, managed_policy_arns: Sequence[str]
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The role and its managed-policy attachments, for a resource that must not use the role before they exist."""
    role = aws.iam.Role(
        ctx.child(suffix),
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            }
        ),
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            ctx.child(f"{suffix}-{policy_arn.rsplit('/', 1)[-1]}"),
            role=role.name,
            policy_arn=in_partition(ctx, policy_arn),
            opts=ctx.opts(),
        )
        for policy_arn in managed_policy_arns
    ]
    return role, attachments


def partition(ctx: StackContext) -> pulumi.Output[str]:
    """The provider's partition (aws, aws-cn, aws-us-gov): one parented look-up for the whole stack."""
    return ctx.lookup("partition", lambda: aws.get_partition_output(opts=ctx.invoke_output_opts()).partition)


def account_id(ctx: StackContext) -> pulumi.Output[str]:
    """The provider's account: one parented look-up for the whole stack."""
    return ctx.lookup("account_id", lambda: aws.get_caller_identity_output(opts=ctx.invoke_output_opts()).account_id)


def in_partition(ctx: StackContext, arn: str) -> pulumi.Output[str]:
    return partition(ctx).apply(lambda name: arn.replace("arn:aws:", f"arn:{name}:", 1))


def instance_profile(ctx: StackContext, suffix: str, managed_policy_arns: Sequence[str]) -> aws.iam.InstanceProfile:
    role = service_role(ctx, f"{suffix}-role", "ec2.amazonaws.com", managed_policy_arns)
    return aws.iam.InstanceProfile(
        ctx.child(f"{suffix}-profile"), role=role.name, tags=ctx.tags(f"{suffix}-profile"), opts=ctx.opts()
    )
