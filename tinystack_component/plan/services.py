"""Which AWS services the recorded stack needs, and how the instances that need them reach each one.

What is needed comes from the recorded resources alone: an ECS cluster (the agent's ecs, ecs-agent and
ecs-telemetry), each task definition's image registry (private ECR: ecr.api, ecr.dkr and S3 for the layers; any
other registry: the internet), its `awslogs` driver (logs) and its secrets' ARNs (secretsmanager, or ssm for
parameters), and an instance profile with the SSM policy (ssm and ssmmessages). How it is reached comes from the
routes and security groups: an interface endpoint of that service and region with private DNS that the instance may
open 443 to (which AZs hold its network interfaces), the S3 gateway endpoint on the instance's route table, a default
route through a NAT (an instance, its network interface, or a NAT gateway), an internet gateway with a public
address, or not at all: `unreachable`, a violation.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from . import topology as t
from .reachability import (
    BASTION,
    CONTAINER_INSTANCES,
    INTERNET_GATEWAY,
    VPC_ENDPOINTS,
    Member,
    PortRange,
    ResourcesOrTopology,
    Topology,
    as_topology,
    port_range,
)
from .recording import Recorded
from .topology import truthy

VIA_INTERFACE_ENDPOINT = "interface-endpoint"
VIA_S3_GATEWAY = "s3-gateway-endpoint"
VIA_NAT = "nat"
VIA_INTERNET_GATEWAY = "internet-gateway"
UNREACHABLE = "unreachable"

HTTPS = 443
CONSUMERS = (CONTAINER_INSTANCES, BASTION)
ECS_AGENT_SERVICES = ("ecs", "ecs-agent", "ecs-telemetry")
SESSION_MANAGER_SERVICES = ("ssm", "ssmmessages")
SSM_POLICIES = ("AmazonSSMManagedInstanceCore", "AmazonEC2RoleforSSM")
PRIVATE_ECR = re.compile(r"^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")
SERVICE_NAME = re.compile(r"^(?:[a-z0-9.-]+\.)?com\.amazonaws\.([a-z0-9-]+)\.(.+)$")
ARN = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):")
NAT_TARGETS = ("networkInterfaceId", "instanceId", "natGatewayId")
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE = "aws:iam/role:Role"


@dataclass(frozen=True)
class Need:
    """One AWS service (or a registry on the internet) that a member must reach, in a region when known."""

    service: str
    region: Optional[str]
    reason: str
    aws: bool = True


@dataclass(frozen=True)
class ServiceReach:
    service: str
    via: str
    zones: tuple[str, ...]
    needed_by: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def zones_text(self) -> str:
        """`us-east-1 a, b, c`: the region once, then each AZ's letter."""
        if not self.zones:
            return ""
        region = self.zones[0][:-1]
        if all(zone[:-1] == region for zone in self.zones):
            return f"{region} {', '.join(zone[-1] for zone in self.zones)}"
        return ", ".join(self.zones)


def service_reachability(resources: ResourcesOrTopology) -> list[ServiceReach]:
    """One row per service and way of reaching it, with who needs it and why; sorted."""
    topology = as_topology(resources)
    home = _home_region(topology)
    rows: dict[tuple[str, str, tuple[str, ...]], tuple[set[str], set[str]]] = {}
    for member in topology.members:
        if member.endpoint not in CONSUMERS:
            continue
        for need in _needs(topology, member):
            via, zones = _reach(topology, member, need)
            label = need.service if need.region in (None, home) else f"{need.service} ({need.region})"
            users, reasons = rows.setdefault((label, via, zones), (set(), set()))
            users.add(member.endpoint)
            reasons.add(need.reason)
    return [
        ServiceReach(label, via, zones, tuple(sorted(users)), tuple(sorted(reasons)))
        for (label, via, zones), (users, reasons) in sorted(rows.items())
    ]


def format_services(rows: Sequence[ServiceReach], width: int = 78) -> list[str]:
    """`service  via  AZs  needed by` rows, aligned, the last column wrapped to `width`."""
    table = [
        ("service", "via", "AZs", "needed by"),
        *((row.service, row.via, row.zones_text, ", ".join(row.needed_by)) for row in rows),
    ]
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    indent = sum(widths) + 6
    lines = []
    for *columns, users in table:
        wrapped = textwrap.wrap(users, max(width - indent, 20), break_on_hyphens=False) or [""]
        lead = "  ".join(f"{text:<{size}}" for text, size in zip(columns, widths, strict=True))
        lines.append(f"{lead}  {wrapped[0]}".rstrip())
        lines.extend(" " * indent + more for more in wrapped[1:])
    return lines


# --- what is needed ---------------------------------------------------------------------------------------------------


def _needs(topology: Topology, member: Member) -> Iterator[Need]:
    if member.endpoint == CONTAINER_INSTANCES:
        for cluster in topology.of_type(t.ECS_CLUSTER):
            for service in ECS_AGENT_SERVICES:
                yield Need(service, None, f"ECS agent ({cluster.name})")
        for task in topology.of_type(t.TASK_DEFINITION):
            yield from _task_needs(task)
    if _has_ssm_policy(topology, topology.by_id.get(member.id)):
        for service in SESSION_MANAGER_SERVICES:
            yield Need(service, None, "Session Manager (SSM policy)")


def _task_needs(task: Recorded) -> Iterator[Need]:
    definitions = task.inputs.get("containerDefinitions") or "[]"
    containers = json.loads(definitions) if isinstance(definitions, str) else list(definitions)
    for container in containers:
        yield from _image_needs(str(container.get("image") or ""))
        logging = container.get("logConfiguration") or {}
        if logging.get("logDriver") == "awslogs":
            yield Need("logs", (logging.get("options") or {}).get("awslogs-region"), "awslogs driver")
        for secret in container.get("secrets") or []:
            yield _secret_need(str(secret.get("valueFrom") or ""))


def _image_needs(image: str) -> Iterator[Need]:
    if not image:
        return
    private = PRIVATE_ECR.match(image)
    if private:
        region = private.group(1)
        yield Need("ecr.api", region, "image in private ECR")
        yield Need("ecr.dkr", region, "image in private ECR")
        yield Need("s3", region, "image layers (ECR)")
        return
    head = image.split("/", 1)[0]
    registry = head if "/" in image and ("." in head or ":" in head or head == "localhost") else "docker.io"
    yield Need(registry, None, "image registry on the internet", aws=False)


def _secret_need(value_from: str) -> Need:
    arn = ARN.match(value_from)
    if arn and arn.group(1) == "secretsmanager":
        return Need("secretsmanager", arn.group(2) or None, "task secrets")
    return Need("ssm", arn.group(2) or None if arn else None, "task secrets (parameters)")


def _has_ssm_policy(topology: Topology, resource: Optional[Recorded]) -> bool:
    profile = _instance_profile(topology, resource) if resource is not None else None
    if profile is None:
        return False
    role = profile.inputs.get("role")
    arns = [
        a.inputs.get("policyArn", "") for a in topology.of_type(ROLE_POLICY_ATTACHMENT) if a.inputs.get("role") == role
    ]
    for found in topology.of_type(ROLE):
        if role in (found.id, found.outputs.get("name"), found.inputs.get("name")):
            arns += list(found.inputs.get("managedPolicyArns") or [])
    return any(str(arn).rsplit("/", 1)[-1] in SSM_POLICIES for arn in arns)


def _instance_profile(topology: Topology, resource: Recorded) -> Optional[Recorded]:
    named: Any = resource.inputs.get("iamInstanceProfile")
    keys = {named.get("arn"), named.get("name")} if isinstance(named, dict) else {named}
    keys -= {None, ""}
    for profile in topology.of_type(INSTANCE_PROFILE):
        if keys & {profile.id, profile.outputs.get("arn"), profile.outputs.get("name"), profile.inputs.get("name")}:
            return profile
    return None


def _home_region(topology: Topology) -> Optional[str]:
    """The stack's region, as its VPC endpoints name it."""
    for endpoint in topology.of_type(t.VPC_ENDPOINT):
        parsed = SERVICE_NAME.match(str(endpoint.inputs.get("serviceName") or ""))
        if parsed:
            return parsed.group(1)
    return None


# --- how it is reached ------------------------------------------------------------------------------------------------


def _reach(topology: Topology, member: Member, need: Need) -> tuple[str, tuple[str, ...]]:
    if need.aws:
        zones = _interface_endpoint_zones(topology, member, need)
        if zones is not None:
            return VIA_INTERFACE_ENDPOINT, zones
        if need.service == "s3" and _s3_gateway(topology, member, need):
            return VIA_S3_GATEWAY, ()
    if _out_on_443(topology, member):
        if _routes_through_nat(topology, member):
            return VIA_NAT, ()
        if member.public_address and any(r.kind == INTERNET_GATEWAY for r in topology.default_routes(member)):
            return VIA_INTERNET_GATEWAY, ()
    return UNREACHABLE, ()


def _same_region(need: Need, region: str) -> bool:
    return need.region is None or need.region == region


def _interface_endpoint_zones(topology: Topology, member: Member, need: Need) -> Optional[tuple[str, ...]]:
    """The AZs of a private-DNS interface endpoint of the service that the member may open 443 to, if any."""
    for endpoint in t.interface_endpoints(topology.resources):
        parsed = SERVICE_NAME.match(str(endpoint.inputs.get("serviceName") or ""))
        if not parsed or parsed.group(2) != need.service or not _same_region(need, parsed.group(1)):
            continue
        if not truthy(endpoint.inputs.get("privateDnsEnabled")):
            continue
        target = next((m for m in topology.members if m.id == endpoint.id and m.endpoint == VPC_ENDPOINTS), None)
        access = topology.between(member, target) if target is not None else None
        if access is not None and any(ports.covers(HTTPS) for ports in access.ports):
            subnets = [topology.by_id[s] for s in endpoint.inputs.get("subnetIds") or [] if s in topology.by_id]
            return tuple(t.zones(subnets))
    return None


def _route_tables(topology: Topology, member: Member) -> set[str]:
    return {
        association.inputs.get("routeTableId", "")
        for association in topology.of_type(t.ROUTE_TABLE_ASSOCIATION)
        if association.inputs.get("subnetId") in member.subnets
    }


def _s3_gateway(topology: Topology, member: Member, need: Need) -> bool:
    tables = _route_tables(topology, member)
    for endpoint in topology.of_type(t.VPC_ENDPOINT):
        if endpoint.inputs.get("vpcEndpointType") != "Gateway":
            continue
        parsed = SERVICE_NAME.match(str(endpoint.inputs.get("serviceName") or ""))
        if parsed and (parsed.group(2) != "s3" or not _same_region(need, parsed.group(1))):
            continue
        if tables & set(endpoint.inputs.get("routeTableIds") or []) and _egress_to_prefix_list(
            topology, member, endpoint.outputs.get("prefixListId")
        ):
            return True
    return False


def _egress_to_prefix_list(topology: Topology, member: Member, prefix_list_id: Any) -> bool:
    """443 out to the gateway endpoint's own prefix list (another list, such as DynamoDB's, is not S3), or to
    addresses beyond the VPC."""
    return _out_on_443(topology, member) or (
        bool(prefix_list_id)
        and any(
            rule.inputs.get("securityGroupId") in member.groups
            and rule.inputs.get("prefixListId") == prefix_list_id
            and _rule_ports(rule).covers(HTTPS)
            for rule in topology.of_type(EGRESS)
        )
    )


def _rule_ports(rule: Recorded) -> PortRange:
    return port_range(rule.inputs.get("ipProtocol"), rule.inputs.get("fromPort"), rule.inputs.get("toPort"))


def _out_on_443(topology: Topology, member: Member) -> bool:
    """An egress rule on the member's groups lets 443 out to addresses beyond the VPC."""
    return any(
        rule.ports.covers(HTTPS) and topology.public_cidrs(rule) for rule in topology.rules_of(member, ingress=False)
    )


def _routes_through_nat(topology: Topology, member: Member) -> bool:
    """A default route of the member's subnets to a NAT: an instance, a network interface (a NAT's static ENI), or a
    NAT gateway. A route to an internet gateway is not one; neither is a route without a target."""
    tables = _route_tables(topology, member)
    for route in topology.of_type(t.ROUTE):
        inputs = route.inputs
        default = (inputs.get("destinationCidrBlock") or inputs.get("destinationIpv6CidrBlock")) in (
            "0.0.0.0/0",
            "::/0",
        )
        if inputs.get("routeTableId") in tables and default and any(inputs.get(key) for key in NAT_TARGETS):
            return True
    for table in topology.of_type(t.ROUTE_TABLE):
        if table.id in tables:
            for spec in table.inputs.get("routes") or []:
                if spec.get("cidrBlock") == "0.0.0.0/0" and any(spec.get(key) for key in NAT_TARGETS):
                    return True
    return False
