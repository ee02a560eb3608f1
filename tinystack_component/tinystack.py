"""The TinyStack component: wires the tiers and exposes their outputs. Each tier lives in its own module.

args → (hosted zone look-up) → network → security groups → egress (NAT instances or endpoints) → cluster →
certificate → front end (and its alias record) → database → app → bastion. Later tiers take what they need from
earlier ones as small typed values.
"""

import dataclasses
from typing import Optional

import pulumi
import pulumi_aws as aws

from .alb import build_alb
from .api_gateway import build_api_gateway
from .args import FrontEnd, TinyStackArgs
from .bastion import Bastion, build_bastion
from .compute import build_cluster
from .context import StackContext
from .database import Database, build_database
from .domain import Domain, build_domain, look_up_zone
from .egress import build_egress
from .egress.nat import NatEgress
from .encryption import build_stack_key
from .image import AppImage, build_image
from .network import Network, build_network
from .security import SecurityGroups, build_security_groups
from .service import Exposure, app_image, build_app
from .validation import (
    Settings,
    check_certificate_region,
    check_endpoint_zones,
    check_image_region,
    check_zone_offerings,
    check_zones_in_region,
    instance_type_fields,
    validate,
    validate_name,
)

TYPE_TOKEN = "tinystack:index:TinyStack"


class TinyStack(pulumi.ComponentResource):
    """A secure, cheap, multi-AZ AWS home for a container app, with an optional RDS database and bastion."""

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    public_subnet_ids: pulumi.Output[list[str]]
    """IDs of the public subnets, one per Availability Zone."""
    private_subnet_ids: pulumi.Output[list[str]]
    """IDs of the app subnets (private or isolated), one per Availability Zone."""
    subnet_kind: pulumi.Output[str]
    """`private` (egress through the NAT instances) or `isolated` (no internet route)."""
    nat_public_ips: pulumi.Output[list[str]]
    """Elastic IPs the app subnets' internet traffic leaves from, one per NAT (allow-list them); empty without nat."""
    nat_boot_log_group: pulumi.Output[Optional[str]]
    """CloudWatch log group of the NAT instances' boot logs (one stream per instance), when nat is true."""
    cluster_name: pulumi.Output[str]
    """Name of the ECS cluster."""
    service_name: pulumi.Output[str]
    """Name of the ECS service."""
    url: pulumi.Output[str]
    """Where the app answers: https://<domain name>, else the load balancer (http or https) or the API endpoint."""
    domain_name: pulumi.Output[Optional[str]]
    """The app's own host name, when one is set."""
    certificate_arn: pulumi.Output[Optional[str]]
    """ARN of the ACM certificate the front end serves: the one made for the domain name, or the given one."""
    load_balancer_dns_name: pulumi.Output[Optional[str]]
    """DNS name of the Application Load Balancer, with the alb front end."""
    api_endpoint: pulumi.Output[Optional[str]]
    """Endpoint of the HTTP API, with the api-gateway front end."""
    database_endpoint: pulumi.Output[Optional[str]]
    """Host name of the database, when there is one."""
    database_port: pulumi.Output[Optional[int]]
    """Port of the database, when there is one."""
    database_secret_arn: pulumi.Output[Optional[str]]
    """ARN of the Secrets Manager secret (username and password) that RDS manages, when there is a database."""
    bastion_public_ip: pulumi.Output[Optional[str]]
    """Public IP of the SSH bastion, when there is one (the Session Manager bastion has none)."""
    bastion_ssh_command: pulumi.Output[Optional[str]]
    """Command that opens a shell on the bastion: ssh, or aws ssm start-session for the Session Manager bastion."""
    database_tunnel_command: pulumi.Output[Optional[str]]
    """Command that forwards the database port to localhost through the bastion (ssh -L or Session Manager)."""

    def __init__(self, name: str, args: TinyStackArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        # Every rule is checked before anything is registered, so bad input never leaves a half-built stack.
        validate_name(name)
        settings = validate(args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        ctx = StackContext(name=name, parent=self, user_tags=settings.tags)
        region, zones = self._region_and_zones(ctx, settings)
        check_image_region(settings, region)
        check_certificate_region(settings, region)
        endpoint_zones = check_endpoint_zones(settings, zones)
        zone = look_up_zone(ctx, settings, zone_given=(args or {}).get("hosted_zone") is not None)
        if settings.kms:
            key = build_stack_key(ctx, region, retain=settings.database is not None)
            ctx = dataclasses.replace(ctx, encryption_key=key)

        network = build_network(ctx, settings, zones, region)
        groups = build_security_groups(ctx, network, settings)
        egress = build_egress(ctx, settings, network, groups, endpoint_zones)
        endpoints = egress.endpoints
        cluster = build_cluster(ctx, settings, network, groups, endpoints)
        domain = build_domain(ctx, settings, zone)
        exposure = self._front_end(ctx, settings, network, groups, domain)
        database = build_database(ctx, settings.database, network, groups) if settings.database else None
        connection = database.connection if database else None
        app = build_app(ctx, settings, cluster, exposure, self._image(ctx, settings), region, connection, endpoints)
        bastion = (
            build_bastion(ctx, settings.bastion, network, groups, connection, endpoints) if settings.bastion else None
        )

        self._expose_network(network, settings, egress.nat)
        self.cluster_name = cluster.cluster.name
        self.service_name = app.service.name
        self.url = exposure.url
        self.domain_name = _optional(settings.domain_name)
        self.certificate_arn = _optional(domain.certificate_arn if domain else settings.certificate_arn)
        self.load_balancer_dns_name = _optional(exposure.load_balancer_dns_name)
        self.api_endpoint = _optional(exposure.api_endpoint)
        self._expose_data_and_access(database, bastion)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output]:
        """Every declared output by name: what register_outputs gets and what the program exports."""
        return {name: getattr(self, name) for name in TinyStack.__annotations__}

    @staticmethod
    def _region_and_zones(ctx: StackContext, settings: Settings) -> tuple[str, tuple[str, ...]]:
        """The provider's region, and the AZs to use: the given ones (checked against the types launched), or the
        region's first three standard ones that offer every type the stack may launch, whatever nat and bastion say."""
        region = aws.get_region(opts=ctx.invoke_opts()).region
        looked_up = settings.availability_zones is None
        if looked_up:
            found = aws.get_availability_zones(
                state="available",
                # Local and Wavelength zones are opt-in and lack most instance types.
                filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
                opts=ctx.invoke_opts(),
            )
            candidates = tuple(found.names)
        else:
            candidates = settings.availability_zones
        zones = check_zones_in_region(candidates, region, looked_up=looked_up)
        types = instance_type_fields(settings, launched_only=not looked_up)
        return region, check_zone_offerings(zones, _offerings(ctx, list(types)), types, region, looked_up=looked_up)

    @staticmethod
    def _image(ctx: StackContext, settings: Settings) -> AppImage:
        """The image built from app_path, or the given one: validate() guarantees exactly one of the two."""
        if settings.app_path is not None:
            return build_image(ctx, settings.app_path, settings.instance_type)
        if settings.container_image is None:
            raise AssertionError("validate() resolves container_image whenever app_path is not given")
        return app_image(settings.container_image)

    @staticmethod
    def _front_end(
        ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups, domain: Optional[Domain]
    ) -> Exposure:
        if settings.front_end is FrontEnd.ALB:
            return build_alb(ctx, settings, network, groups, domain)
        return build_api_gateway(ctx, settings, network, groups, domain)

    def _expose_network(self, network: Network, settings: Settings, nat: Optional[NatEgress]) -> None:
        self.vpc_id = network.vpc.id
        self.public_subnet_ids = pulumi.Output.all(*network.public_subnet_ids)
        self.private_subnet_ids = pulumi.Output.all(*network.app_subnet_ids)
        self.subnet_kind = pulumi.Output.from_input("private" if settings.nat else "isolated")
        self.nat_public_ips = (
            pulumi.Output.all(*(each.elastic_ip.public_ip for each in nat.nats)) if nat else _optional([])
        )
        self.nat_boot_log_group = _optional(nat.boot_log.name if nat else None)

    def _expose_data_and_access(self, database: Optional[Database], bastion: Optional[Bastion]) -> None:
        self.database_endpoint = _optional(database.connection.host if database else None)
        self.database_port = _optional(database.connection.port if database else None)
        self.database_secret_arn = _optional(database.connection.secret_arn if database else None)
        self.bastion_public_ip = _optional(bastion.public_ip if bastion else None)
        self.bastion_ssh_command = _optional(bastion.ssh_command if bastion else None)
        self.database_tunnel_command = _optional(bastion.tunnel_command if bastion else None)


def _offerings(ctx: StackContext, instance_types: list[str]) -> dict[str, set[str]]:
    """The instance types each zone of the region offers, of those asked for: one look-up for all of them."""
    found = aws.ec2.get_instance_type_offerings(
        location_type="availability-zone",
        filters=[{"name": "instance-type", "values": instance_types}],
        opts=ctx.invoke_opts(),
    )
    offered: dict[str, set[str]] = {}
    for zone, instance_type in zip(found.locations, found.instance_types, strict=True):
        offered.setdefault(zone, set()).add(instance_type)
    return offered


def _optional(value: Optional[pulumi.Input]) -> pulumi.Output:
    return pulumi.Output.from_input(value)
