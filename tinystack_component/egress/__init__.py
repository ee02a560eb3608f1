"""Egress for the app subnets, as a strategy: NAT instances (one, or one per AZ) or VPC interface endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi_aws as aws

from ..context import StackContext
from ..network import Network
from ..security import SecurityGroups
from ..validation import Settings
from .endpoints import build_vpc_endpoints
from .nat import NatEgress, build_nat_egress


@dataclass(frozen=True)
class Egress:
    """What later tiers need of the egress: the NATs (private mode) or the interface endpoints (isolated mode),
    which instances and services must wait for, so their agents start with private DNS working."""

    nat: Optional[NatEgress] = None
    endpoints: list[aws.ec2.VpcEndpoint] = field(default_factory=list)


def build_egress(
    ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups, endpoint_zones: int
) -> Egress:
    """Private app subnets get NAT instances; isolated ones interface endpoints (and no internet route)."""
    if settings.nat:
        return Egress(
            nat=build_nat_egress(ctx, network, groups, settings.nat_instance_type, settings.nat_high_availability)
        )
    return Egress(endpoints=build_vpc_endpoints(ctx, network, groups, settings, endpoint_zones))
