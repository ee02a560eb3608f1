"""Every security group of the stack and every rule between them: the seed's reachability promise in one place.

    internet ──80/443──▶ alb ──container port──▶ containers ──db port──▶ database
                         vpc link ──container port──▶ containers
    allowed CIDRs ──22──▶ bastion ──db port──▶ database       (SSH bastion, public subnet)
    (nothing) ──▶ bastion ──db port──▶ database; bastion ──443──▶ AWS   (Session Manager bastion, app subnet)
    VPC ──all──▶ nat instance ──all──▶ internet          (nat mode)
    VPC ──443──▶ endpoints; containers ──443──▶ endpoints, S3 prefix list   (isolated mode)

Groups carry no inline rules; each rule is its own resource named `allow-<from>-to-<to>-<port>-<in|out>`, so a
config edit adds or removes rules without replacing a group.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Required, TypedDict, Unpack

import pulumi
import pulumi_aws as aws

from .args import FrontEnd
from .context import StackContext
from .network import Network
from .validation import Settings

ANYWHERE = "0.0.0.0/0"
HTTP, HTTPS, SSH = 80, 443, 22
# One description for both kinds: AWS replaces a group whose description changes, so switching kinds keeps it.
# A group whose description changes is replaced: the SSH bastion's is the one it always had.
SSH_BASTION_DESCRIPTION = "SSH bastion: port 22 from the allowed CIDRs"
SESSION_MANAGER_BASTION_DESCRIPTION = "Session Manager bastion: no inbound rule; out to the database port and 443 only"


@dataclass(frozen=True)
class Group:
    label: str
    security_group: aws.ec2.SecurityGroup

    @property
    def id(self) -> pulumi.Output[str]:
        return self.security_group.id


@dataclass(frozen=True)
class Port:
    """A TCP port, or every protocol and port when `number` is None."""

    number: Optional[int] = None

    @property
    def label(self) -> str:
        return "all" if self.number is None else f"tcp-{self.number}"

    @property
    def words(self) -> str:
        return "every protocol and port" if self.number is None else f"TCP {self.number}"

    def rule_inputs(self) -> PortInputs:
        if self.number is None:
            return {"ip_protocol": "-1"}
        return {"ip_protocol": "tcp", "from_port": self.number, "to_port": self.number}


ALL_TRAFFIC = Port()


class PortInputs(TypedDict, total=False):
    """The protocol and port inputs of a security-group rule."""

    ip_protocol: Required[str]
    from_port: int
    to_port: int


class CidrInputs(TypedDict, total=False):
    """One side of a rule given as an IPv4 or an IPv6 CIDR."""

    cidr_ipv4: str
    cidr_ipv6: str


class Endpoints(CidrInputs, total=False):
    """The group a rule belongs to, and the other side: a group, a CIDR or a prefix list."""

    security_group_id: Required[pulumi.Input[str]]
    referenced_security_group_id: pulumi.Input[str]
    prefix_list_id: pulumi.Input[str]


@dataclass(frozen=True)
class SecurityGroups:
    containers: Group
    front_end: Group
    nat_instance: Optional[Group]
    endpoints: Optional[Group]
    database: Optional[Group]
    bastion: Optional[Group]


def build_security_groups(ctx: StackContext, network: Network, settings: Settings) -> SecurityGroups:
    def group(label: str, description: str) -> Group:
        return Group(label, _security_group(ctx, network, label, description))

    front_end_label = "alb" if settings.front_end is FrontEnd.ALB else "vpc-link"
    groups = SecurityGroups(
        containers=group("containers", "ECS container instances: the app port from the front end only"),
        front_end=group(front_end_label, f"{front_end_label}: in front of the containers"),
        nat_instance=group("nat-instance", "NAT instance: all traffic from the VPC") if settings.nat else None,
        endpoints=None if settings.nat else group("endpoints", "VPC interface endpoints: HTTPS from the VPC"),
        database=group("database", "RDS: the engine port from the containers and bastion")
        if settings.database
        else None,
        bastion=group(
            "bastion",
            SESSION_MANAGER_BASTION_DESCRIPTION if settings.bastion.session_manager else SSH_BASTION_DESCRIPTION,
        )
        if settings.bastion
        else None,
    )
    _front_end_rules(ctx, groups, settings)
    _egress_rules(ctx, groups, network)
    _data_and_access_rules(ctx, groups, settings, network)
    return groups


def _security_group(ctx: StackContext, network: Network, label: str, description: str) -> aws.ec2.SecurityGroup:
    return aws.ec2.SecurityGroup(
        ctx.child(f"{label}-sg"),
        vpc_id=network.vpc.id,
        description=description,
        tags=ctx.tags(f"{label}-sg"),
        opts=ctx.opts(),
    )


def _front_end_rules(ctx: StackContext, groups: SecurityGroups, settings: Settings) -> None:
    if settings.front_end is FrontEnd.ALB:
        allow_from_cidr(ctx, "internet", ANYWHERE, groups.front_end, Port(HTTP))
        if settings.certificate_arn is not None or settings.domain_name is not None:
            allow_from_cidr(ctx, "internet", ANYWHERE, groups.front_end, Port(HTTPS))
    # The VPC link's group has no inbound rules: API Gateway reaches it from the AWS side, not through an SG.
    allow_between(ctx, groups.front_end, groups.containers, Port(settings.container_port))


def _egress_rules(ctx: StackContext, groups: SecurityGroups, network: Network) -> None:
    if groups.nat_instance is not None:
        # TCP alone would break DNS and ICMP through the NAT; the source is the VPC, never the internet. The NATs
        # probe each other through this rule too (their static interfaces are in the VPC).
        allow_from_cidr(ctx, "vpc", network.vpc_cidr, groups.nat_instance, ALL_TRAFFIC)
        allow_to_cidr(ctx, groups.nat_instance, "internet", ANYWHERE, ALL_TRAFFIC)
        allow_to_cidr(ctx, groups.containers, "internet", ANYWHERE, ALL_TRAFFIC)
    if groups.endpoints is not None:
        allow_from_cidr(ctx, "vpc", network.vpc_cidr, groups.endpoints, Port(HTTPS))
        allow_between(ctx, groups.containers, groups.endpoints, Port(HTTPS), ingress=False)
        allow_to_prefix_list(ctx, groups.containers, "s3", network.s3_endpoint.prefix_list_id, Port(HTTPS))


def _data_and_access_rules(ctx: StackContext, groups: SecurityGroups, settings: Settings, network: Network) -> None:
    if groups.database is not None and settings.database is not None:
        allow_between(ctx, groups.containers, groups.database, Port(settings.database.port))
    if groups.bastion is not None and settings.bastion is not None:
        for number, cidr in enumerate(settings.bastion.allowed_cidrs, start=1):
            allow_from_cidr(ctx, f"admin-{number}", cidr, groups.bastion, Port(SSH))
        if groups.endpoints is not None and settings.bastion.session_manager:
            # Isolated: the SSM agent reaches ssm and ssmmessages through their endpoints, packages come from S3.
            allow_between(ctx, groups.bastion, groups.endpoints, Port(HTTPS), ingress=False)
            allow_to_prefix_list(ctx, groups.bastion, "s3", network.s3_endpoint.prefix_list_id, Port(HTTPS))
        else:
            # Package updates and the SSM agent; everything else stays closed.
            allow_to_cidr(ctx, groups.bastion, "internet", ANYWHERE, Port(HTTPS))
        if groups.database is not None and settings.database is not None:
            allow_between(ctx, groups.bastion, groups.database, Port(settings.database.port))


# What each label means in a rule's description (CKV_AWS_23: the console shows who may reach whom, in words).
LABEL_WORDS = {
    "internet": "the internet",
    "vpc": "the VPC",
    "s3": "S3 (gateway endpoint prefix list)",
    "alb": "the load balancer",
    "vpc-link": "the API Gateway VPC link",
    "containers": "the container instances",
    "nat-instance": "the NAT instances",
    "endpoints": "the VPC interface endpoints",
    "database": "the database",
    "bastion": "the bastion",
}


def describe(source: str, target: str, port: Port) -> str:
    """`The internet may reach the load balancer on TCP 80`: the rule's description."""

    def words(label: str) -> str:
        if label.startswith("admin-"):
            return f"allowed admin CIDR {label.removeprefix('admin-')}"
        return LABEL_WORDS.get(label, label)

    text = f"{words(source)} may reach {words(target)} on {port.words}"
    return text[0].upper() + text[1:]


def _rule(
    ctx: StackContext,
    source: str,
    target: str,
    port: Port,
    ingress: bool,
    **endpoints: Unpack[Endpoints],
) -> None:
    direction, rule_type = (
        ("in", aws.vpc.SecurityGroupIngressRule) if ingress else ("out", aws.vpc.SecurityGroupEgressRule)
    )
    suffix = f"allow-{source}-to-{target}-{port.label}-{direction}"
    rule_type(
        ctx.child(suffix),
        **endpoints,
        **port.rule_inputs(),
        description=describe(source, target, port),
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )


def _cidr_inputs(cidr: str) -> CidrInputs:
    return {"cidr_ipv6": cidr} if ipaddress.ip_network(cidr).version == 6 else {"cidr_ipv4": cidr}


def allow_between(ctx: StackContext, source: Group, target: Group, port: Port, *, ingress: bool = True) -> None:
    """Source may open connections to target on port: an egress rule on source and an ingress rule on target.

    With ingress=False only the egress half is written, for a target whose ingress is already a CIDR rule."""
    _rule(
        ctx,
        source.label,
        target.label,
        port,
        False,
        security_group_id=source.id,
        referenced_security_group_id=target.id,
    )
    if ingress:
        _rule(
            ctx,
            source.label,
            target.label,
            port,
            True,
            security_group_id=target.id,
            referenced_security_group_id=source.id,
        )


def allow_from_cidr(ctx: StackContext, source_label: str, cidr: str, target: Group, port: Port) -> None:
    _rule(ctx, source_label, target.label, port, True, security_group_id=target.id, **_cidr_inputs(cidr))


def allow_to_cidr(ctx: StackContext, source: Group, target_label: str, cidr: str, port: Port) -> None:
    _rule(ctx, source.label, target_label, port, False, security_group_id=source.id, **_cidr_inputs(cidr))


def allow_to_prefix_list(
    ctx: StackContext,
    source: Group,
    target_label: str,
    prefix_list_id: pulumi.Input[str],
    port: Port,
) -> None:
    _rule(
        ctx,
        source.label,
        target_label,
        port,
        False,
        security_group_id=source.id,
        prefix_list_id=prefix_list_id,
    )
