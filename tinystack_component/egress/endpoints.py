"""Egress for isolated app subnets: interface endpoints, so instances reach AWS APIs with no internet route.

The set follows the configuration: what the ECS agent always needs, Secrets Manager only when a task reads a secret,
Session Manager only when something is reached through it. Each endpoint keeps one logical name per service and
computes its own subnets, so an edit adds or removes endpoints without replacing the others. The S3 gateway
endpoint, which ECR image layers need, is part of the network tier in both modes.
"""

from __future__ import annotations

import pulumi_aws as aws

from ..context import StackContext
from ..network import Network
from ..security import SecurityGroups
from ..validation import Settings, uses_session_manager

# The ECS agent registers and reports (ecs, ecs-agent, ecs-telemetry: the ECS developer guide's VPC endpoint page),
# pulls private images (ecr.api, ecr.dkr; layers come through the S3 gateway endpoint) and ships awslogs (logs).
ALWAYS = ("ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "logs")
SECRETS = ("secretsmanager",)
# Session Manager needs ssm and ssmmessages. No ec2messages: beginning with SSM Agent 3.3.40.0 the agent uses
# ssmmessages (the Message Gateway Service) instead of ec2messages (the Message Delivery Service) whenever it is
# available ("Improve the security of EC2 instances by using VPC endpoints for Systems Manager", AWS Systems Manager
# User Guide, https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html). The AL2023 AMIs
# the stack runs ship later agents.
SESSION_MANAGER = ("ssm", "ssmmessages")


def interface_endpoint_services(settings: Settings) -> tuple[str, ...]:
    """The interface endpoints an isolated stack needs for this configuration, in a stable order."""
    services: tuple[str, ...] = ALWAYS
    if settings.database is not None or settings.container_secrets:
        services += SECRETS
    if uses_session_manager(settings):
        services += SESSION_MANAGER
    return services


def build_vpc_endpoints(
    ctx: StackContext, network: Network, groups: SecurityGroups, settings: Settings, zone_count: int
) -> list[aws.ec2.VpcEndpoint]:
    """One endpoint per service, with network interfaces in the first `zone_count` app subnets. The instances and
    the service depend on what this returns: their agents need the endpoints from the first boot."""
    assert groups.endpoints is not None
    # Private DNS answers every AZ with the endpoint's addresses, so subnets without an interface reach it across AZs.
    subnet_ids = network.app_subnet_ids[:zone_count]
    endpoints = []
    for service in interface_endpoint_services(settings):
        suffix = f"{service.replace('.', '-')}-endpoint"
        endpoints.append(
            aws.ec2.VpcEndpoint(
                ctx.child(suffix),
                vpc_id=network.vpc.id,
                service_name=f"com.amazonaws.{network.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=subnet_ids,
                security_group_ids=[groups.endpoints.id],
                tags=ctx.tags(suffix),
                opts=ctx.opts(),
            )
        )
    return endpoints
