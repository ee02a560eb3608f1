"""The TinyStack component: wires the tiers (args → network → security → egress → compute → front end → data and
access) and exposes their outputs. Each tier lives in its own module."""

from typing import Optional

import pulumi
import pulumi_aws as aws

from .args import Settings, TinyStackArgs, check_zones_in_region, validate
from .context import StackContext
from .endpoints import build_vpc_endpoints
from .nat_instance import build_nat_instance
from .network import build_network
from .security import build_security_groups

TYPE_TOKEN = "tinystack:index:TinyStack"


class TinyStack(pulumi.ComponentResource):
    """A secure, cheap, multi-AZ home for a container app: VPC, ECS on EC2, a front end, and optionally a database
    and a bastion."""

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    public_subnet_ids: pulumi.Output[list[str]]
    """IDs of the public subnets, one per Availability Zone."""
    private_subnet_ids: pulumi.Output[list[str]]
    """IDs of the app subnets (private or isolated), one per Availability Zone."""
    subnet_kind: pulumi.Output[str]
    """`private` (egress through the NAT instance) or `isolated` (no internet route)."""
    nat_instance_id: pulumi.Output[Optional[str]]
    """ID of the NAT instance, when nat is true."""

    def __init__(self, name: str, args: TinyStackArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        # Every rule is checked before anything is registered, so bad input never leaves a half-built stack.
        settings = validate(args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        ctx = StackContext(name=name, parent=self, user_tags=settings.tags)
        region, zones = self._region_and_zones(ctx, settings)

        network = build_network(ctx, settings, zones, region)
        groups = build_security_groups(ctx, network, settings)
        nat = build_nat_instance(ctx, network, groups, settings.nat_instance_type) if settings.nat else None
        if not settings.nat:
            build_vpc_endpoints(ctx, network, groups)

        self.vpc_id = network.vpc.id
        self.public_subnet_ids = pulumi.Output.all(*network.public_subnet_ids)
        self.private_subnet_ids = pulumi.Output.all(*network.app_subnet_ids)
        self.subnet_kind = pulumi.Output.from_input("private" if settings.nat else "isolated")
        self.nat_instance_id = nat.instance.id if nat else pulumi.Output.from_input(None)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output]:
        """Every declared output by name: what register_outputs gets and what the program exports."""
        return {name: getattr(self, name) for name in TinyStack.__annotations__}

    @staticmethod
    def _region_and_zones(ctx: StackContext, settings: Settings) -> tuple[str, tuple[str, ...]]:
        """The provider's region, and the AZs to use: the given ones, or the region's first three standard ones."""
        region = aws.get_region(opts=ctx.invoke_opts()).region
        if settings.availability_zones is not None:
            return region, check_zones_in_region(settings.availability_zones, region, looked_up=False)
        found = aws.get_availability_zones(
            state="available",
            # Local and Wavelength zones are opt-in and lack most instance types.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=ctx.invoke_opts(),
        )
        return region, check_zones_in_region(tuple(found.names), region, looked_up=True)
