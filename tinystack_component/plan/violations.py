"""Every breach of TinyStack's security contract, found in the reachability edges and the recorded resources.

The contract is the seed's promises (who may reach whom) plus the AWS Foundational Security Best Practices controls
that the recorded resources can show (control ids in the rule names).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..validation import MIN_SSH_PREFIX_V4, MIN_SSH_PREFIX_V6
from . import topology as t
from .reachability import (
    BASTION,
    CONTAINER_INSTANCES,
    DATABASE,
    INTERNET,
    INTERNET_GATEWAY,
    LOAD_BALANCER,
    NAT_INSTANCE,
    VPC_ENDPOINTS,
    VPC_LINK,
    Edge,
    Member,
    ResourcesOrTopology,
    Rule,
    Topology,
    as_topology,
    label_covers,
)
from .recording import Recorded
from .services import UNREACHABLE, service_reachability
from .topology import explicitly_false, truthy

FRONT_END_ONLY = "only the front end is reachable from the internet, on 80 and 443"
SSH_ONLY_BASTION = "SSH reaches only the bastion"
SSH_FROM_ANYWHERE = "EC2.13 no SSH from 0.0.0.0/0 or ::/0 (nor from ranges that add up to it)"
MODERN_TLS = "ELB.17 HTTPS listeners use a TLS 1.3 policy"
ALB_ACCESS_LOGS = "ELB.5 ALB access logs"
ALB_DELETION_PROTECTION = "ELB.6 ALB deletion protection"
RULE_DESCRIPTIONS = "CKV_AWS_23 every security group rule has a description"
DATABASE_PORT_FROM_ANYWHERE = "EC2.19 no database port open to 0.0.0.0/0 or ::/0"
DATABASE_ACCESS = "the database is reachable only from the containers and the bastion, on its port"
ISOLATED_NO_ROUTE = "isolated subnets have no internet route"
APP_NO_IGW = "app subnets never route to an internet gateway"
SERVICES_REACHABLE = "every AWS service the instances need is reachable"
NAT_ROUTE_ATTACHED = "app routes target a NAT interface that a NAT Auto Scaling group attaches"

SSH = 22
WEB_PORTS = {"80", "443"}
WORLD = {"0.0.0.0/0", "::/0"}
FRONT_ENDS = {LOAD_BALANCER, VPC_LINK}
DATABASE_CLIENTS = {CONTAINER_INSTANCES, BASTION}
APP_TIER = {CONTAINER_INSTANCES, DATABASE, VPC_LINK, VPC_ENDPOINTS}
ENGINE_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "mariadb": 3306, "aurora-mysql": 3306}
COMMON_DATABASE_PORTS = (3306, 5432)
MIN_BACKUP_DAYS = 7


@dataclass(frozen=True)
class Violation:
    resource: str
    rule: str
    detail: str


def find_violations(resources: ResourcesOrTopology, edges: Sequence[Edge]) -> list[Violation]:
    """Every breach, once each, sorted by resource, rule and detail."""
    topology = as_topology(resources)
    found = [violation for check in CHECKS for violation in check(topology, edges)]
    return sorted(set(found), key=lambda v: (v.resource, v.rule, v.detail))


def _edge_violation(edge: Edge, rule: str, why: str) -> Violation:
    detail = f"{edge.source} → {edge.target}: {edge.ports_text} ({why})"
    return Violation(", ".join(edge.resources) or edge.target, rule, detail)


def _world_cidrs(rule: Rule) -> list[str]:
    return [str(cidr) for cidr in rule.cidrs if str(cidr) in WORLD]


def _broad_cidrs(rule: Rule) -> list[str]:
    """Ranges the component itself refuses for SSH: a few of them cover the whole internet."""
    limits = {4: MIN_SSH_PREFIX_V4, 6: MIN_SSH_PREFIX_V6}
    return [str(cidr) for cidr in rule.cidrs if 0 < cidr.prefixlen < limits[cidr.version]]


# --- who may reach whom ----------------------------------------------------------------------------------------------


def front_end_only(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for edge in edges:
        if edge.source != INTERNET:
            continue
        if edge.target in FRONT_ENDS and set(edge.ports) <= WEB_PORTS:
            continue
        # The bastion's port 22 is judged by the SSH rules.
        if edge.target == BASTION and edge.ports == (str(SSH),):
            continue
        yield _edge_violation(edge, FRONT_END_ONLY, f"{edge.target} is not the front end or not on 80/443")


def ssh_only_to_bastion(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for edge in edges:
        if edge.target in (INTERNET, BASTION) or not any(label_covers(label, SSH) for label in edge.ports):
            continue
        # The NAT instance must admit every protocol from the VPC (TCP alone breaks DNS and ICMP); it has no SSH
        # path from outside and is administered through SSM.
        if edge.target == NAT_INSTANCE and edge.source != INTERNET and edge.ports == ("all",):
            continue
        yield _edge_violation(edge, SSH_ONLY_BASTION, f"port 22 reaches {edge.target}")


def ssh_not_from_anywhere(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for rule in topology.rules:
        world = _world_cidrs(rule) + _broad_cidrs(rule)
        if rule.ingress and world and rule.ports.covers(SSH):
            yield Violation(rule.name, SSH_FROM_ANYWHERE, f"{rule.ports.label} from {', '.join(world)}")


def database_ports(topology: Topology) -> set[int]:
    """Each database's port: its `port` input, else its engine's default."""
    ports: set[int] = set()
    for database in topology.of_type(t.DB_INSTANCE):
        port = database.inputs.get("port") or ENGINE_PORTS.get(str(database.inputs.get("engine", "")))
        ports.update([int(port)] if port else COMMON_DATABASE_PORTS)
    return ports


def database_ports_not_from_anywhere(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    ports = database_ports(topology) | set(COMMON_DATABASE_PORTS)
    for rule in topology.rules:
        world = _world_cidrs(rule)
        if rule.ingress and world and any(rule.ports.covers(port) for port in ports):
            yield Violation(rule.name, DATABASE_PORT_FROM_ANYWHERE, f"{rule.ports.label} from {', '.join(world)}")


def database_access(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    allowed = {str(port) for port in database_ports(topology)}
    for edge in edges:
        if edge.target != DATABASE:
            continue
        if edge.source not in DATABASE_CLIENTS:
            yield _edge_violation(edge, DATABASE_ACCESS, f"{edge.source} is neither the containers nor the bastion")
        elif not set(edge.ports) <= allowed:
            yield _edge_violation(edge, DATABASE_ACCESS, f"the database port is {', '.join(sorted(allowed))}")
    yield from _database_rules_from_outside(topology)


def _database_rules_from_outside(topology: Topology) -> Iterator[Violation]:
    # Even when the instance is not public, a rule admitting addresses outside the VPC breaks the promise.
    groups = {group for member in topology.members if member.endpoint == DATABASE for group in member.groups}
    for rule in topology.rules:
        outside = [str(cidr) for cidr in topology.public_cidrs(rule)]
        if rule.ingress and rule.group in groups and outside:
            yield Violation(rule.name, DATABASE_ACCESS, f"the database group admits {', '.join(outside)}")


def app_subnet_routes(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    has_nat_instance = any(member.endpoint == NAT_INSTANCE for member in topology.members)
    interfaces = {r.id for r in topology.of_type(t.NETWORK_INTERFACE) if t.is_nat_interface(r)}
    attached = {interface for _, _, interface in t.nat_groups(topology.resources)}
    for subnet in sorted(_app_subnets(topology.members)):
        name = topology.by_id[subnet].name if subnet in topology.by_id else subnet
        for route in topology.subnet_routes.get(subnet, []):
            if route.kind == INTERNET_GATEWAY:
                yield Violation(name, APP_NO_IGW, f"{route.name} sends {route.destination} to an internet gateway")
            if route.is_default and not has_nat_instance:
                yield Violation(name, ISOLATED_NO_ROUTE, f"{route.name} sends {route.destination} out of the VPC")
            if route.is_default and route.target in interfaces and route.target not in attached:
                detail = f"{route.name} targets {topology.by_id[route.target].name}, which no NAT group attaches"
                yield Violation(name, NAT_ROUTE_ATTACHED, detail)


def services_reachable(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    # A missing ecr.dkr or logs endpoint fails every task at start, and nothing else would say so before deploying.
    for row in service_reachability(topology):
        if row.via == UNREACHABLE:
            users = " and ".join(row.needed_by)
            detail = (
                f"{users} need {row.service} ({'; '.join(row.reasons)}) but reach it through no interface endpoint, "
                f"gateway endpoint or NAT"
            )
            yield Violation(row.service, SERVICES_REACHABLE, detail)


def _app_subnets(members: Iterable[Member]) -> set[str]:
    """Where the containers, the database, the VPC link and the interface endpoints live."""
    return {subnet for member in members if member.endpoint in APP_TIER for subnet in member.subnets}


# --- EC2 baseline ----------------------------------------------------------------------------------------------------


def imdsv2_required(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for resource in topology.of_type(t.INSTANCE, t.LAUNCH_TEMPLATE):
        tokens = (resource.inputs.get("metadataOptions") or {}).get("httpTokens")
        if tokens != "required":
            yield Violation(resource.name, "EC2.8 IMDSv2 required", f"metadataOptions.httpTokens is {tokens!r}")


def volumes_encrypted(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    by_default = any(not explicitly_false(r.inputs.get("enabled")) for r in topology.of_type(t.EBS_DEFAULT_ENCRYPTION))
    for resource in topology.resources:
        volumes = _volumes(resource)
        if volumes is None or by_default:
            continue
        if not volumes:
            yield Violation(resource.name, "EC2.3/EC2.7 encrypted volumes", "no volume declared encrypted")
        for where, encrypted in volumes:
            if not truthy(encrypted):
                yield Violation(resource.name, "EC2.3/EC2.7 encrypted volumes", f"{where} is not encrypted")


def _volumes(resource: Recorded) -> list[tuple[str, Any]] | None:
    """(where, encrypted) for each volume the resource declares; None when it holds no volumes."""
    inputs = resource.inputs
    if resource.type == t.INSTANCE:
        root = [("rootBlockDevice", (inputs.get("rootBlockDevice") or {}).get("encrypted"))]
        extra = [
            (f"ebsBlockDevices {d.get('deviceName')}", d.get("encrypted")) for d in inputs.get("ebsBlockDevices") or []
        ]
        return root + extra
    if resource.type == t.LAUNCH_TEMPLATE:
        mappings = [m for m in inputs.get("blockDeviceMappings") or [] if m.get("ebs") is not None]
        return [(f"blockDeviceMappings {m.get('deviceName')}", m["ebs"].get("encrypted")) for m in mappings]
    if resource.type == t.EBS_VOLUME:
        return [("volume", inputs.get("encrypted"))]
    return None


def flow_logs(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    logged = {log.inputs.get("vpcId") for log in topology.of_type(t.FLOW_LOG)}
    for vpc in topology.of_type(t.VPC):
        if vpc.id not in logged:
            yield Violation(vpc.name, "EC2.6 VPC flow logs", "no FlowLog records this VPC")


def default_security_group_closed(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    defaults = topology.of_type(t.DEFAULT_SG)
    for vpc in topology.of_type(t.VPC):
        if not any(group.inputs.get("vpcId") == vpc.id for group in defaults):
            yield Violation(vpc.name, "EC2.2 default SG has no rules", "no DefaultSecurityGroup strips its rules")
    for group in defaults:
        if group.inputs.get("ingress") or group.inputs.get("egress"):
            yield Violation(group.name, "EC2.2 default SG has no rules", "it declares ingress or egress rules")


def no_public_ip_on_launch(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for subnet in topology.of_type(t.SUBNET):
        if truthy(subnet.inputs.get("mapPublicIpOnLaunch")):
            yield Violation(subnet.name, "EC2.15 no public IP on launch", "mapPublicIpOnLaunch is true")


def rules_described(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    """The console shows a rule's description: who may reach whom, in words."""
    for rule in topology.of_type(t.INGRESS, t.EGRESS, t.SG_RULE):
        if not str(rule.inputs.get("description") or "").strip():
            yield Violation(rule.name, RULE_DESCRIPTIONS, "the rule has no description")
    for group in topology.of_type(t.SG):
        for direction in ("ingress", "egress"):
            for number, inline in enumerate(group.inputs.get(direction) or [], start=1):
                if not str(inline.get("description") or "").strip():
                    yield Violation(
                        group.name, RULE_DESCRIPTIONS, f"inline {direction} rule {number} has no description"
                    )


# --- front end -------------------------------------------------------------------------------------------------------


def alb_drops_invalid_headers(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for lb in topology.of_type(*t.LOAD_BALANCERS):
        is_alb = lb.inputs.get("loadBalancerType", "application") == "application"
        if is_alb and not truthy(lb.inputs.get("dropInvalidHeaderFields")):
            yield Violation(lb.name, "ELB.4 ALB drops invalid headers", "dropInvalidHeaderFields is not true")


def _albs(topology: Topology) -> list[Recorded]:
    return [
        lb
        for lb in topology.of_type(*t.LOAD_BALANCERS)
        if lb.inputs.get("loadBalancerType", "application") == "application"
    ]


def alb_access_logs(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for lb in _albs(topology):
        logs = lb.inputs.get("accessLogs") or {}
        if not truthy(logs.get("enabled")) or not logs.get("bucket"):
            yield Violation(lb.name, ALB_ACCESS_LOGS, "accessLogs is not enabled with a bucket")


def alb_deletion_protection(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for lb in _albs(topology):
        if not truthy(lb.inputs.get("enableDeletionProtection")):
            yield Violation(lb.name, ALB_DELETION_PROTECTION, "enableDeletionProtection is not true")


def http_redirects_to_https(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    listeners = topology.of_type(*t.LISTENERS)
    for lb in topology.of_type(*t.LOAD_BALANCERS):
        own = [listener for listener in listeners if listener.inputs.get("loadBalancerArn") == lb.outputs.get("arn")]
        if not any(_is_https(listener) for listener in own):
            continue
        for listener in own:
            if not _is_https(listener) and not _redirects_to_https(listener):
                yield Violation(listener.name, "ELB.1 HTTP redirects to HTTPS", f"{lb.name} serves HTTPS too")


def https_uses_modern_tls(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for listener in topology.of_type(*t.LISTENERS):
        policy = str(listener.inputs.get("sslPolicy") or "")
        if listener.inputs.get("protocol") == "HTTPS" and not policy.startswith("ELBSecurityPolicy-TLS13"):
            yield Violation(listener.name, MODERN_TLS, f"sslPolicy is {policy or 'the default'}")


def _is_https(listener: Recorded) -> bool:
    return listener.inputs.get("protocol") == "HTTPS" or int(listener.inputs.get("port") or 0) == 443


def _redirects_to_https(listener: Recorded) -> bool:
    actions = listener.inputs.get("defaultActions") or []
    return bool(actions) and all(
        action.get("type") == "redirect" and (action.get("redirect") or {}).get("protocol") == "HTTPS"
        for action in actions
    )


def api_access_logs(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for stage in topology.of_type(t.STAGE):
        if not (stage.inputs.get("accessLogSettings") or {}).get("destinationArn"):
            yield Violation(stage.name, "APIGateway.9 access logs", "accessLogSettings.destinationArn is not set")


# --- ECS -------------------------------------------------------------------------------------------------------------


def _containers(task: Recorded) -> list[dict[str, Any]]:
    definitions = task.inputs.get("containerDefinitions") or "[]"
    return json.loads(definitions) if isinstance(definitions, str) else list(definitions)


def containers_unprivileged_and_logged(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for task in topology.of_type(t.TASK_DEFINITION):
        for container in _containers(task):
            name = container.get("name", "?")
            if truthy(container.get("privileged")):
                yield Violation(task.name, "ECS.4 no privileged containers", f"container {name} is privileged")
            if not (container.get("logConfiguration") or {}).get("logDriver"):
                yield Violation(task.name, "ECS.9 container logs", f"container {name} has no logConfiguration")


def container_insights(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for cluster in topology.of_type(t.ECS_CLUSTER):
        settings = {s.get("name"): s.get("value") for s in cluster.inputs.get("settings") or []}
        if settings.get("containerInsights") not in ("enabled", "enhanced"):
            yield Violation(cluster.name, "ECS.12 Container Insights", "setting containerInsights is not enabled")


# --- RDS -------------------------------------------------------------------------------------------------------------


def database_baseline(topology: Topology, edges: Sequence[Edge]) -> Iterator[Violation]:
    for database in topology.of_type(t.DB_INSTANCE):
        inputs = database.inputs
        if truthy(inputs.get("publiclyAccessible")):
            yield Violation(database.name, "RDS.2 not publicly accessible", "publiclyAccessible is true")
        if not truthy(inputs.get("storageEncrypted")):
            yield Violation(database.name, "RDS.3 storage encrypted", "storageEncrypted is not true")
        if not truthy(inputs.get("deletionProtection")):
            yield Violation(database.name, "RDS.8 deletion protection", "deletionProtection is not true")
        # RDS keeps one day of backups when the period is not given.
        days = int(inputs.get("backupRetentionPeriod", 1))
        if days < MIN_BACKUP_DAYS:
            yield Violation(database.name, "RDS.11 backups kept 7 days", f"backupRetentionPeriod is {days}")


CHECKS: tuple[Callable[[Topology, Sequence[Edge]], Iterable[Violation]], ...] = (
    front_end_only,
    ssh_only_to_bastion,
    ssh_not_from_anywhere,
    database_ports_not_from_anywhere,
    database_access,
    app_subnet_routes,
    services_reachable,
    imdsv2_required,
    volumes_encrypted,
    flow_logs,
    default_security_group_closed,
    no_public_ip_on_launch,
    rules_described,
    alb_drops_invalid_headers,
    alb_access_logs,
    alb_deletion_protection,
    http_redirects_to_https,
    https_uses_modern_tls,
    api_access_logs,
    containers_unprivileged_and_logged,
    container_insights,
    database_baseline,
)
