"""The VPC tier: VPC, one public and one app subnet per AZ, route tables, default SG, S3 endpoint, flow logs.

Egress for the app subnets (a NAT instance or interface endpoints) is built on top of this by `egress/nat.py`
or `egress/endpoints.py`, so switching between them never touches anything created here.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .logs import log_group
from .roles import service_role
from .validation import Settings

# Fixed slots per AZ index, whatever the number of AZs and whatever the NAT mode, so a config edit never moves a
# subnet: app subnet i is quarter i of the VPC; public subnet i is sixteenth 12 + i (inside the last quarter).
APP_SLOT_PREFIX_DELTA = 2
PUBLIC_SLOT_PREFIX_DELTA = 4
PUBLIC_FIRST_SLOT = 12


@dataclass(frozen=True)
class SubnetSlot:
    index: int
    zone: str
    public_cidr: str
    app_cidr: str


def plan_subnets(vpc_cidr: str, zones: tuple[str, ...]) -> list[SubnetSlot]:
    """The per-AZ CIDR plan. Pure, so the same inputs always give the same layout."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    app_slots = list(vpc.subnets(prefixlen_diff=APP_SLOT_PREFIX_DELTA))
    public_slots = list(vpc.subnets(prefixlen_diff=PUBLIC_SLOT_PREFIX_DELTA))
    return [
        SubnetSlot(index, zone, str(public_slots[PUBLIC_FIRST_SLOT + index]), str(app_slots[index]))
        for index, zone in enumerate(zones)
    ]


@dataclass(frozen=True)
class Network:
    vpc: aws.ec2.Vpc
    vpc_cidr: str
    region: str
    zones: tuple[str, ...]
    public_subnets: list[aws.ec2.Subnet]
    app_subnets: list[aws.ec2.Subnet]
    app_route_tables: list[aws.ec2.RouteTable]
    s3_endpoint: aws.ec2.VpcEndpoint
    # What AWS needs before anything public: an internet-facing ALB (InvalidSubnet) or an address association
    # (Gateway.NotAttached) fails while the gateway is not attached, and the mocks never enforce that order.
    internet_gateway: aws.ec2.InternetGateway
    public_default_route: aws.ec2.Route

    @property
    def public_subnet_ids(self) -> list[pulumi.Output[str]]:
        return [subnet.id for subnet in self.public_subnets]

    @property
    def app_subnet_ids(self) -> list[pulumi.Output[str]]:
        return [subnet.id for subnet in self.app_subnets]


def build_network(ctx: StackContext, settings: Settings, zones: tuple[str, ...], region: str) -> Network:
    vpc = aws.ec2.Vpc(
        ctx.child("vpc"),
        cidr_block=settings.vpc_cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags=ctx.tags("vpc"),
        opts=ctx.opts(),
    )
    _lock_default_security_group(ctx, vpc)
    slots = plan_subnets(settings.vpc_cidr, zones)
    public_subnets = [_subnet(ctx, vpc, f"public-{slot.index + 1}", slot.public_cidr, slot.zone) for slot in slots]
    app_subnets = [_subnet(ctx, vpc, f"app-{slot.index + 1}", slot.app_cidr, slot.zone) for slot in slots]
    internet_gateway, public_default_route = _public_routing(ctx, vpc, public_subnets)
    app_route_tables = [_app_route_table(ctx, vpc, subnet, index + 1) for index, subnet in enumerate(app_subnets)]
    s3_endpoint = _s3_gateway_endpoint(ctx, vpc, region, app_route_tables)
    if settings.flow_logs:
        _flow_logs(ctx, vpc)
    return Network(
        vpc,
        settings.vpc_cidr,
        region,
        zones,
        public_subnets,
        app_subnets,
        app_route_tables,
        s3_endpoint,
        internet_gateway=internet_gateway,
        public_default_route=public_default_route,
    )


def _lock_default_security_group(ctx: StackContext, vpc: aws.ec2.Vpc) -> None:
    # EC2.2: adopting the default SG without ingress or egress blocks strips every rule from it.
    aws.ec2.DefaultSecurityGroup(ctx.child("default-sg"), vpc_id=vpc.id, tags=ctx.tags("default-sg"), opts=ctx.opts())


def _subnet(ctx: StackContext, vpc: aws.ec2.Vpc, suffix: str, cidr: str, zone: str) -> aws.ec2.Subnet:
    return aws.ec2.Subnet(
        ctx.child(suffix),
        vpc_id=vpc.id,
        cidr_block=cidr,
        availability_zone=zone,
        # EC2.15: nothing gets a public IP by landing in a subnet; the NAT instance and bastion ask for one.
        map_public_ip_on_launch=False,
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )


def _public_routing(
    ctx: StackContext, vpc: aws.ec2.Vpc, public_subnets: list[aws.ec2.Subnet]
) -> tuple[aws.ec2.InternetGateway, aws.ec2.Route]:
    gateway = aws.ec2.InternetGateway(ctx.child("igw"), vpc_id=vpc.id, tags=ctx.tags("igw"), opts=ctx.opts())
    table = aws.ec2.RouteTable(ctx.child("public-rt"), vpc_id=vpc.id, tags=ctx.tags("public-rt"), opts=ctx.opts())
    default_route = aws.ec2.Route(
        ctx.child("public-default-route"),
        route_table_id=table.id,
        destination_cidr_block="0.0.0.0/0",
        gateway_id=gateway.id,
        opts=ctx.opts(),
    )
    for index, subnet in enumerate(public_subnets):
        aws.ec2.RouteTableAssociation(
            ctx.child(f"public-{index + 1}-rta"), route_table_id=table.id, subnet_id=subnet.id, opts=ctx.opts()
        )
    return gateway, default_route


def _app_route_table(ctx: StackContext, vpc: aws.ec2.Vpc, subnet: aws.ec2.Subnet, number: int) -> aws.ec2.RouteTable:
    # No routes here: the NAT strategy adds the default route; isolated subnets keep none.
    table = aws.ec2.RouteTable(
        ctx.child(f"app-{number}-rt"), vpc_id=vpc.id, tags=ctx.tags(f"app-{number}-rt"), opts=ctx.opts()
    )
    aws.ec2.RouteTableAssociation(
        ctx.child(f"app-{number}-rta"), route_table_id=table.id, subnet_id=subnet.id, opts=ctx.opts()
    )
    return table


def _s3_gateway_endpoint(
    ctx: StackContext, vpc: aws.ec2.Vpc, region: str, tables: list[aws.ec2.RouteTable]
) -> aws.ec2.VpcEndpoint:
    # Free, and in both modes: ECR image layers live in S3, so pulls never cross the NAT instance, and isolated
    # subnets can pull at all.
    return aws.ec2.VpcEndpoint(
        ctx.child("s3-endpoint"),
        vpc_id=vpc.id,
        service_name=f"com.amazonaws.{region}.s3",
        vpc_endpoint_type="Gateway",
        route_table_ids=[table.id for table in tables],
        tags=ctx.tags("s3-endpoint"),
        opts=ctx.opts(),
    )


def _flow_logs(ctx: StackContext, vpc: aws.ec2.Vpc) -> None:
    # EC2.6: rejected traffic is what an operator needs to debug a security group; ACCEPT would cost far more.
    flow_log_group = log_group(ctx, "flow-logs")
    role = service_role(ctx, "flow-logs-role", "vpc-flow-logs.amazonaws.com")
    aws.iam.RolePolicy(
        ctx.child("flow-logs-policy"),
        role=role.id,
        policy=flow_log_group.arn.apply(_flow_logs_policy),
        opts=ctx.opts(),
    )
    aws.ec2.FlowLog(
        ctx.child("flow-log"),
        vpc_id=vpc.id,
        traffic_type="REJECT",
        log_destination_type="cloud-watch-logs",
        log_destination=flow_log_group.arn,
        iam_role_arn=role.arn,
        tags=ctx.tags("flow-log"),
        opts=ctx.opts(),
    )


def _flow_logs_policy(log_group_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                }
            ],
        }
    )
