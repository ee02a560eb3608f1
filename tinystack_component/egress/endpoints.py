"""Egress for isolated app subnets: interface endpoints, so instances reach AWS APIs with no internet route.

The S3 gateway endpoint, which ECR image layers need, is part of the network tier in both modes.
"""

import pulumi_aws as aws

from ..context import StackContext
from ..network import Network
from ..security import SecurityGroups

# ECS registration and telemetry, image pulls, container logs, task secrets, and Session Manager.
INTERFACE_ENDPOINT_SERVICES = (
    "ecs",
    "ecs-agent",
    "ecs-telemetry",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "ssm",
    "ssmmessages",
    "ec2messages",
)


def build_vpc_endpoints(ctx: StackContext, network: Network, groups: SecurityGroups) -> list[aws.ec2.VpcEndpoint]:
    assert groups.endpoints is not None
    endpoints = []
    for service in INTERFACE_ENDPOINT_SERVICES:
        suffix = f"{service.replace('.', '-')}-endpoint"
        endpoints.append(
            aws.ec2.VpcEndpoint(
                ctx.child(suffix),
                vpc_id=network.vpc.id,
                service_name=f"com.amazonaws.{network.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=network.app_subnet_ids,
                security_group_ids=[groups.endpoints.id],
                tags=ctx.tags(suffix),
                opts=ctx.opts(),
            )
        )
    return endpoints
