"""Egress for the app subnets, as a strategy: NAT instances (one, or one per AZ) or VPC interface endpoints."""

from typing import Optional

from ..context import StackContext
from ..network import Network
from ..security import SecurityGroups
from ..validation import Settings
from .endpoints import build_vpc_endpoints
from .nat import NatEgress, build_nat_egress


def build_egress(
    ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups, endpoint_zones: int
) -> Optional[NatEgress]:
    """Private app subnets get NAT instances; isolated ones interface endpoints (and no internet route)."""
    if settings.nat:
        return build_nat_egress(ctx, network, groups, settings.nat_instance_type, settings.nat_high_availability)
    build_vpc_endpoints(ctx, network, groups, settings, endpoint_zones)
    return None
