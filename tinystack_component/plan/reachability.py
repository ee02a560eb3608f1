"""Who can open a connection to whom, and on which ports, derived from the recorded resources alone.

Security groups map to endpoints through the resources that sit behind them. A connection from A to B needs an
egress rule on one of A's groups and an ingress rule on one of B's groups that both admit it (groups are stateful,
so replies need nothing). From the internet, B must also have a public address in a subnet whose default route is an
internet gateway; to the internet, A needs such a route (with a public address) or a default route through the NAT
instance, whose own groups must let the traffic through.
"""

from __future__ import annotations

import ipaddress
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from . import topology as t
from .recording import Recorded
from .topology import explicitly_false, truthy

INTERNET = "internet"
LOAD_BALANCER = "load-balancer"
VPC_LINK = "api-gateway (vpc link)"
CONTAINER_INSTANCES = "container-instances"
DATABASE = "database"
BASTION = "bastion"
NAT_INSTANCE = "nat-instance"
VPC_ENDPOINTS = "vpc-endpoints"

ALL = "all"
DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")
INTERNET_GATEWAY, ROUTE_TO_INSTANCE, NAT_GATEWAY, OTHER_TARGET = "internet-gateway", "instance", "nat-gateway", "other"

IpNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    ports: tuple[str, ...]
    sources: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()

    @property
    def ports_text(self) -> str:
        """`80, 443`, with `from <cidrs>` when the internet is the source."""
        ports = ", ".join(self.ports)
        return f"{ports} from {', '.join(self.sources)}" if self.source == INTERNET and self.sources else ports


def find_edges(resources: ResourcesOrTopology) -> list[Edge]:
    """Every (source, target) endpoint pair that can open a connection, with the ports, sorted."""
    topology = as_topology(resources)
    found: dict[tuple[str, str], Access] = {}

    def add(source: str, target: str, access: Access) -> None:
        found[(source, target)] = found.get((source, target), Access()) | access

    for source in topology.members:
        for target in topology.members:
            if source is not target:
                add(source.endpoint, target.endpoint, topology.between(source, target))
    for member in topology.members:
        add(INTERNET, member.endpoint, topology.from_internet(member))
        add(member.endpoint, INTERNET, topology.to_internet(member))
    add(INTERNET, VPC_LINK, topology.public_api())
    return [access.edge(*pair) for pair, access in sorted(found.items()) if access.ports]


def format_table(edges: Sequence[Edge], width: int = 80) -> str:
    """`from → to : ports` rows, aligned, with long port lists wrapped to `width` columns."""
    rows = [("from", "to", "ports"), *((edge.source, edge.target, edge.ports_text) for edge in edges)]
    left = max(len(row[0]) for row in rows)
    middle = max(len(row[1]) for row in rows)
    indent = left + middle + 6
    lines = []
    for source, target, ports in rows:
        wrapped = textwrap.wrap(ports, max(width - indent, 20)) or [""]
        lines.append(f"{source:<{left}} → {target:<{middle}} : {wrapped[0]}".rstrip())
        lines.extend(" " * indent + more for more in wrapped[1:])
    return "\n".join(lines)


# --- ports ---------------------------------------------------------------------------------------------------------

PROTOCOL_NAMES = {"-1": ALL, "all": ALL, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(frozen=True, order=True)
class PortRange:
    """The ports of one protocol that a rule allows; protocol `all` is every protocol and port."""

    protocol: str
    low: int = 0
    high: int = 65535

    def intersect(self, other: PortRange) -> Optional[PortRange]:
        if self.protocol == ALL:
            return other
        if other.protocol == ALL:
            return self
        low, high = max(self.low, other.low), min(self.high, other.high)
        return PortRange(self.protocol, low, high) if self.protocol == other.protocol and low <= high else None

    def covers(self, tcp_port: int) -> bool:
        """Whether a TCP connection to `tcp_port` gets through."""
        return self.protocol == ALL or (self.protocol == "tcp" and self.low <= tcp_port <= self.high)

    @property
    def label(self) -> str:
        if self.protocol not in ("tcp", "udp"):
            return self.protocol
        span = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return span if self.protocol == "tcp" else f"udp:{span}"


def port_range(protocol: Any, from_port: Any = None, to_port: Any = None) -> PortRange:
    name = PROTOCOL_NAMES.get(str(protocol).lower(), str(protocol).lower())
    if name not in ("tcp", "udp") or from_port is None or int(from_port) < 0:
        return PortRange(name)
    return PortRange(name, int(from_port), int(to_port if to_port is not None else from_port))


def intersect_all(*groups: Iterable[PortRange]) -> set[PortRange]:
    """The port ranges every group allows."""
    result: set[PortRange] = {PortRange(ALL)}
    for group in groups:
        ranges = list(group)
        result = {both for mine in result for theirs in ranges if (both := mine.intersect(theirs))}
    return result


def port_labels(ranges: Iterable[PortRange]) -> tuple[str, ...]:
    """Sorted labels ("80", "443", "8000-8100", "udp:53", "icmp"), or ("all",) when every protocol is allowed."""
    merged: list[PortRange] = []
    for current in sorted(set(ranges), key=lambda r: (r.protocol != "tcp", r.protocol, r.low, r.high)):
        if current.protocol == ALL:
            return (ALL,)
        last = merged[-1] if merged else None
        if last and last.protocol == current.protocol and current.low <= last.high + 1:
            merged[-1] = PortRange(last.protocol, last.low, max(last.high, current.high))
        else:
            merged.append(current)
    return tuple(item.label for item in merged)


def label_covers(label: str, tcp_port: int) -> bool:
    """Whether a port label from an Edge lets a TCP connection to `tcp_port` through."""
    if label == ALL:
        return True
    low, _, high = label.partition("-")
    return low.isdigit() and int(low) <= tcp_port <= int(high or low)


# --- access: what a path allows, and why -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    ports: frozenset[PortRange] = frozenset()
    sources: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()

    def __or__(self, other: Access) -> Access:
        return Access(self.ports | other.ports, self.sources | other.sources, self.rules | other.rules)

    def edge(self, source: str, target: str) -> Edge:
        return Edge(source, target, port_labels(self.ports), tuple(sorted(self.sources)), tuple(sorted(self.rules)))


# --- security group rules, whichever resource type declares them -----------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    ingress: bool
    ports: PortRange
    cidrs: tuple[IpNetwork, ...] = ()
    groups: tuple[str, ...] = ()
    """Peers: the CIDRs and the referenced security group ids. A prefix list (AWS service ranges) is neither."""


def network(text: Any) -> Optional[IpNetwork]:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def _networks(*texts: Any) -> tuple[IpNetwork, ...]:
    return tuple(found for text in texts if text and (found := network(text)) is not None)


def _standalone_rule(resource: Recorded) -> Rule:
    inputs = resource.inputs
    referenced = inputs.get("referencedSecurityGroupId")
    return Rule(
        name=resource.name,
        group=inputs.get("securityGroupId", ""),
        ingress=resource.type == t.INGRESS,
        ports=port_range(inputs.get("ipProtocol"), inputs.get("fromPort"), inputs.get("toPort")),
        cidrs=_networks(inputs.get("cidrIpv4"), inputs.get("cidrIpv6")),
        groups=(referenced,) if referenced else (),
    )


def _legacy_rule(resource: Recorded) -> Rule:
    inputs = resource.inputs
    group = inputs.get("securityGroupId", "")
    peers = [inputs.get("sourceSecurityGroupId"), group if inputs.get("self") else None]
    return Rule(
        name=resource.name,
        group=group,
        ingress=inputs.get("type") == "ingress",
        ports=port_range(inputs.get("protocol"), inputs.get("fromPort"), inputs.get("toPort")),
        cidrs=_networks(*inputs.get("cidrBlocks", []), *inputs.get("ipv6CidrBlocks", [])),
        groups=tuple(peer for peer in peers if peer),
    )


def _inline_rules(group: Recorded) -> Iterator[Rule]:
    for direction in ("ingress", "egress"):
        for number, spec in enumerate(group.inputs.get(direction) or [], start=1):
            peers = [*spec.get("securityGroups", []), group.id if spec.get("self") else None]
            yield Rule(
                name=f"{group.name} (inline {direction} {number})",
                group=group.id,
                ingress=direction == "ingress",
                ports=port_range(spec.get("protocol"), spec.get("fromPort"), spec.get("toPort")),
                cidrs=_networks(*spec.get("cidrBlocks", []), *spec.get("ipv6CidrBlocks", [])),
                groups=tuple(peer for peer in peers if peer),
            )


def security_group_rules(resources: Iterable[Recorded]) -> Iterator[Rule]:
    for resource in resources:
        if resource.type in (t.INGRESS, t.EGRESS):
            yield _standalone_rule(resource)
        elif resource.type == t.SG_RULE:
            yield _legacy_rule(resource)
        elif resource.type == t.SG:
            yield from _inline_rules(resource)


# --- routes ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    destination: str
    kind: str
    target: str
    """The id of the gateway, or of the instance whose network interface the route points at."""

    @property
    def is_default(self) -> bool:
        return self.destination in DEFAULT_ROUTES


def _route(name: str, spec: dict[str, Any], destination: str, gateways: set[str], enis: dict[str, str]) -> Route:
    if spec.get("gatewayId") in gateways:
        return Route(name, destination, INTERNET_GATEWAY, spec["gatewayId"])
    instance = enis.get(spec.get("networkInterfaceId", "")) or spec.get("instanceId")
    if instance:
        return Route(name, destination, ROUTE_TO_INSTANCE, instance)
    if spec.get("natGatewayId"):
        return Route(name, destination, NAT_GATEWAY, spec["natGatewayId"])
    return Route(name, destination, OTHER_TARGET, str(next(iter(spec.values()), "")))


def routes_by_table(resources: Sequence[Recorded]) -> dict[str, list[Route]]:
    """Every route (separate Route resources and inline ones) by route table id."""
    gateways = {r.id for r in resources if r.type == t.INTERNET_GATEWAY}
    enis = {r.outputs.get("primaryNetworkInterfaceId", ""): r.id for r in resources if r.type == t.INSTANCE}
    # A NAT's static interface is the NAT itself for routing: whichever instance holds it forwards.
    enis |= {r.id: r.id for r in resources if t.is_nat_interface(r)}
    tables: dict[str, list[Route]] = {}
    for resource in resources:
        if resource.type == t.ROUTE:
            inputs = resource.inputs
            destination = inputs.get("destinationCidrBlock") or inputs.get("destinationIpv6CidrBlock") or ""
            route = _route(resource.name, inputs, destination, gateways, enis)
            tables.setdefault(inputs.get("routeTableId", ""), []).append(route)
        elif resource.type == t.ROUTE_TABLE:
            for number, spec in enumerate(resource.inputs.get("routes") or [], start=1):
                destination = spec.get("cidrBlock") or spec.get("ipv6CidrBlock") or ""
                name = f"{resource.name} (inline route {number})"
                tables.setdefault(resource.id, []).append(_route(name, spec, destination, gateways, enis))
    return tables


# --- members: the resources behind security groups, as endpoints -----------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    endpoint: str
    groups: frozenset[str]
    subnets: frozenset[str]
    public_address: bool
    public_whatever_the_route: bool = False


def _ids(*values: Any) -> frozenset[str]:
    found: set[str] = set()
    for value in values:
        if isinstance(value, (list, tuple)):
            found.update(item for item in value if item)
        elif value:
            found.add(value)
    return frozenset(found)


class Topology:
    """The recorded resources indexed for reachability: networks, routes, rules, and who sits behind which group."""

    def __init__(self, resources: Sequence[Recorded]) -> None:
        self.resources = list(resources)
        self.by_id = {resource.id: resource for resource in self.resources if resource.id}
        self.rules = list(security_group_rules(self.resources))
        self.vpc_cidrs = {vpc.id: _networks(vpc.inputs.get("cidrBlock")) for vpc in self.of_type(t.VPC)}
        subnets = self.of_type(t.SUBNET)
        self.subnet_cidrs = {s.id: _networks(s.inputs.get("cidrBlock"), s.inputs.get("ipv6CidrBlock")) for s in subnets}
        self.auto_public_subnets = {s.id for s in subnets if truthy(s.inputs.get("mapPublicIpOnLaunch"))}
        self.subnet_routes = self._subnet_routes()
        self.members = sorted(self._members(), key=lambda member: (member.endpoint, member.name))

    def of_type(self, *types: str) -> list[Recorded]:
        return t.of_type(self.resources, *types)

    def _subnet_routes(self) -> dict[str, list[Route]]:
        tables = routes_by_table(self.resources)
        routes: dict[str, list[Route]] = {}
        for association in self.of_type(t.ROUTE_TABLE_ASSOCIATION):
            subnet = association.inputs.get("subnetId")
            if subnet:
                routes.setdefault(subnet, []).extend(tables.get(association.inputs.get("routeTableId", ""), []))
        return routes

    def default_routes(self, member: Member) -> list[Route]:
        return [route for subnet in member.subnets for route in self.subnet_routes.get(subnet, []) if route.is_default]

    def public_subnets(self) -> list[Recorded]:
        """The subnets whose default route is an internet gateway."""
        return [subnet for subnet in self.of_type(t.SUBNET) if self._routes_to_internet_gateway(subnet.id)]

    def _routes_to_internet_gateway(self, subnet: str) -> bool:
        return any(route.is_default and route.kind == INTERNET_GATEWAY for route in self.subnet_routes.get(subnet, []))

    # members -------------------------------------------------------------------------------------------------------

    def _members(self) -> Iterator[Member]:
        for resource in self.resources:
            build = MEMBER_BUILDERS.get(resource.type)
            member = build(self, resource) if build else None
            if member is not None:
                yield member

    def auto_public(self, subnets: Iterable[str]) -> bool:
        return any(subnet in self.auto_public_subnets for subnet in subnets)

    def has_elastic_ip(self, instance: Recorded) -> bool:
        return any(
            (eip.type == t.EIP and eip.inputs.get("instance") == instance.id)
            or (eip.type == t.EIP_ASSOCIATION and eip.inputs.get("instanceId") == instance.id)
            for eip in self.of_type(t.EIP, t.EIP_ASSOCIATION)
        )

    def launch_template_subnets(self, template: Recorded) -> set[str]:
        groups = t.groups_launching(template, self.resources)
        return {subnet for group in groups for subnet in group.inputs.get("vpcZoneIdentifiers") or []}

    # reachability --------------------------------------------------------------------------------------------------

    def networks(self, member: Member) -> tuple[IpNetwork, ...]:
        """Where the member's addresses lie: its subnets, else its VPC, else any recorded VPC."""
        found = tuple(cidr for subnet in sorted(member.subnets) for cidr in self.subnet_cidrs.get(subnet, ()))
        if found:
            return found
        vpcs = {str(self.by_id[group].inputs.get("vpcId")) for group in member.groups if group in self.by_id}
        found = tuple(cidr for vpc in sorted(vpcs) for cidr in self.vpc_cidrs.get(vpc, ()))
        return found or tuple(cidr for cidrs in self.vpc_cidrs.values() for cidr in cidrs)

    def is_public(self, cidr: IpNetwork) -> bool:
        """A CIDR reaching beyond every recorded VPC: its addresses include the internet's."""
        return not any(_inside(cidr, vpc) for vpcs in self.vpc_cidrs.values() for vpc in vpcs)

    def public_cidrs(self, rule: Rule) -> list[IpNetwork]:
        return [cidr for cidr in rule.cidrs if self.is_public(cidr)]

    def admits(self, rule: Rule, peer: Member) -> bool:
        if peer.groups.intersection(rule.groups):
            return True
        return any(_overlaps(cidr, place) for cidr in rule.cidrs for place in self.networks(peer))

    def rules_of(self, member: Member, *, ingress: bool) -> list[Rule]:
        return [rule for rule in self.rules if rule.ingress == ingress and rule.group in member.groups]

    def between(self, source: Member, target: Member) -> Access:
        """An egress rule on the source and an ingress rule on the target, both admitting the other side."""
        outbound = [rule for rule in self.rules_of(source, ingress=False) if self.admits(rule, target)]
        inbound = [rule for rule in self.rules_of(target, ingress=True) if self.admits(rule, source)]
        access = Access()
        for out_rule in outbound:
            for in_rule in inbound:
                both = out_rule.ports.intersect(in_rule.ports)
                if both is not None:
                    access |= Access(frozenset({both}), rules=frozenset({out_rule.name, in_rule.name}))
        return access

    def internet_facing(self, member: Member) -> bool:
        if member.public_whatever_the_route:
            return True
        routes = self.default_routes(member)
        return member.public_address and any(route.kind == INTERNET_GATEWAY for route in routes)

    def from_internet(self, member: Member) -> Access:
        if not self.internet_facing(member):
            return Access()
        access = Access()
        for rule in self.rules_of(member, ingress=True):
            cidrs = self.public_cidrs(rule)
            if cidrs:
                access |= Access(frozenset({rule.ports}), frozenset(map(str, cidrs)), frozenset({rule.name}))
        return access

    def to_internet(self, member: Member, *, through_nat: bool = True) -> Access:
        egress = [rule for rule in self.rules_of(member, ingress=False) if self.public_cidrs(rule)]
        if not egress:
            return Access()
        own = Access(
            frozenset(rule.ports for rule in egress),
            frozenset(str(cidr) for rule in egress for cidr in self.public_cidrs(rule)),
            frozenset(rule.name for rule in egress),
        )
        access = Access()
        for route in self.default_routes(member):
            if route.kind == NAT_GATEWAY or (route.kind == INTERNET_GATEWAY and member.public_address):
                access |= own
            elif route.kind == ROUTE_TO_INSTANCE and through_nat:
                access |= self._through_nat_instance(member, route.target, own)
        return access

    def _through_nat_instance(self, member: Member, instance_id: str, own: Access) -> Access:
        nat = next((m for m in self.members if m.id == instance_id and m.endpoint == NAT_INSTANCE), None)
        if nat is None or nat is member:
            return Access()
        into_nat = [rule for rule in self.rules_of(nat, ingress=True) if self.admits(rule, member)]
        onward = self.to_internet(nat, through_nat=False)
        ports = intersect_all(own.ports, (rule.ports for rule in into_nat), onward.ports)
        if not ports:
            return Access()
        return Access(frozenset(ports), own.sources, own.rules | onward.rules | {rule.name for rule in into_nat})

    def public_api(self) -> Access:
        """An HTTP API is public on 443, through its execute-api endpoint (unless disabled) or a custom domain, and it
        forwards over the VPC link."""
        apis = [
            api
            for api in self.of_type(t.HTTP_API)
            if str(api.inputs.get("protocolType", "")).upper() == "HTTP"
            and (not truthy(api.inputs.get("disableExecuteApiEndpoint")) or t.api_domains(self.resources, api))
        ]
        if not apis or not any(member.endpoint == VPC_LINK for member in self.members):
            return Access()
        return Access(
            frozenset({PortRange("tcp", 443, 443)}), frozenset({"0.0.0.0/0"}), frozenset(a.name for a in apis)
        )


ResourcesOrTopology = Union[Topology, Sequence[Recorded]]
"""What the analyses take: the recorded resources, or their Topology when the caller has indexed them already."""


def as_topology(resources: ResourcesOrTopology) -> Topology:
    return resources if isinstance(resources, Topology) else Topology(resources)


def _overlaps(first: IpNetwork, second: IpNetwork) -> bool:
    return first.version == second.version and first.overlaps(second)  # type: ignore[arg-type]


def _inside(inner: IpNetwork, outer: IpNetwork) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


# --- one builder per member type -------------------------------------------------------------------------------------


def _load_balancer(topology: Topology, lb: Recorded) -> Member:
    inputs = lb.inputs
    subnets = _ids(inputs.get("subnets"), [m.get("subnetId") for m in inputs.get("subnetMappings") or []])
    # An internet-facing load balancer (internal absent or false) gets public addresses in its subnets.
    return Member(
        lb.id, lb.name, LOAD_BALANCER, _ids(inputs.get("securityGroups")), subnets, not truthy(inputs.get("internal"))
    )


def _vpc_link(topology: Topology, link: Recorded) -> Member:
    inputs = link.inputs
    return Member(
        link.id, link.name, VPC_LINK, _ids(inputs.get("securityGroupIds")), _ids(inputs.get("subnetIds")), False
    )


def _launch_template(topology: Topology, template: Recorded) -> Optional[Member]:
    if t.nat_interface_of(template):
        return None  # a NAT's instances act through its static interface, which is the member
    interfaces = template.inputs.get("networkInterfaces") or []
    groups = _ids(template.inputs.get("vpcSecurityGroupIds"), *(nic.get("securityGroups") for nic in interfaces))
    subnets = _ids(list(topology.launch_template_subnets(template)), [nic.get("subnetId") for nic in interfaces])
    asked = [nic.get("associatePublicIpAddress") for nic in interfaces]
    public = any(truthy(value) for value in asked) or (
        not any(explicitly_false(value) for value in asked) and topology.auto_public(subnets)
    )
    return Member(template.id, template.name, CONTAINER_INSTANCES, groups, subnets, public)


def _ecs_service(topology: Topology, service: Recorded) -> Optional[Member]:
    config = service.inputs.get("networkConfiguration")
    if not config:
        return None
    groups, subnets = _ids(config.get("securityGroups")), _ids(config.get("subnets"))
    return Member(service.id, service.name, CONTAINER_INSTANCES, groups, subnets, truthy(config.get("assignPublicIp")))


def _db_instance(topology: Topology, database: Recorded) -> Member:
    inputs = database.inputs
    subnets = _ids(t.subnet_group_subnets(topology.resources, inputs.get("dbSubnetGroupName")))
    public = truthy(inputs.get("publiclyAccessible"))
    # RDS.2: a publicly accessible instance gets a public endpoint; count it reachable whatever the routes say.
    return Member(
        database.id, database.name, DATABASE, _ids(inputs.get("vpcSecurityGroupIds")), subnets, public, public
    )


def _instance(topology: Topology, instance: Recorded) -> Member:
    inputs = instance.inputs
    endpoint = NAT_INSTANCE if t.is_nat_instance(instance) else BASTION
    subnets = _ids(inputs.get("subnetId"))
    asked = inputs.get("associatePublicIpAddress")
    public = (
        truthy(asked)
        or topology.has_elastic_ip(instance)
        or (not explicitly_false(asked) and topology.auto_public(subnets))
    )
    return Member(instance.id, instance.name, endpoint, _ids(inputs.get("vpcSecurityGroupIds")), subnets, public)


def _nat_interface(topology: Topology, interface: Recorded) -> Optional[Member]:
    if not t.is_nat_interface(interface):
        return None
    inputs = interface.inputs
    public = t.elastic_ip_of_interface(topology.resources, interface.id) is not None
    return Member(
        interface.id,
        interface.name,
        NAT_INSTANCE,
        _ids(inputs.get("securityGroups")),
        _ids(inputs.get("subnetId")),
        public,
    )


def _vpc_endpoint(topology: Topology, endpoint: Recorded) -> Optional[Member]:
    inputs = endpoint.inputs
    if inputs.get("vpcEndpointType") != "Interface":
        return None
    return Member(
        endpoint.id,
        endpoint.name,
        VPC_ENDPOINTS,
        _ids(inputs.get("securityGroupIds")),
        _ids(inputs.get("subnetIds")),
        False,
    )


MEMBER_BUILDERS: dict[str, Callable[[Topology, Recorded], Optional[Member]]] = {
    **dict.fromkeys(t.LOAD_BALANCERS, _load_balancer),
    t.VPC_LINK: _vpc_link,
    t.LAUNCH_TEMPLATE: _launch_template,
    t.ECS_SERVICE: _ecs_service,
    t.DB_INSTANCE: _db_instance,
    t.INSTANCE: _instance,
    t.VPC_ENDPOINT: _vpc_endpoint,
    t.NETWORK_INTERFACE: _nat_interface,
}
