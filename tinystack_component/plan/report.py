"""The plan as text for an 80-column terminal, or as one JSON object."""

import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from . import topology as t
from .cost import CostEstimate
from .diagram import DiagramFiles
from .failure import ZoneLoss
from .reachability import Edge, format_table
from .recording import Recorded
from .services import ServiceReach, format_services
from .violations import Violation

WIDTH = 80
TIERS = ("network", "security", "compute", "front end", "data", "access")

_SECURITY_TYPES = ("securityGroup:", "defaultSecurityGroup:", "securityGroupIngressRule:", "securityGroupEgressRule:")
_SERVICE_TIERS = {
    "rds": "data",
    "secretsmanager": "data",
    "lb": "front end",
    "apigatewayv2": "front end",
    "servicediscovery": "front end",
    "acm": "front end",
    "route53": "front end",
    "ecs": "compute",
    "autoscaling": "compute",
    "ecr": "compute",
}
_EC2_COMPUTE_TYPES = ("launchTemplate:",)
_NAME_HINTS = (
    ("nat", "network"),
    ("flow-log", "network"),
    ("endpoint", "network"),
    ("database", "data"),
    ("db-", "data"),
    ("alb", "front end"),
    ("api", "front end"),
    ("vpc-link", "front end"),
)


@dataclass(frozen=True)
class PlanResult:
    stack: str
    region: str
    resources: list[Recorded]
    edges: list[Edge]
    violations: list[Violation]
    cost: CostEstimate
    diagram: DiagramFiles
    services: list[ServiceReach] = field(default_factory=list)
    failure_analysis: list[ZoneLoss] = field(default_factory=list)


def tier_of(resource: Recorded) -> str:
    """Security groups and rules are security; the bastion's pieces are access; the rest by service, then name."""
    if resource.type.split("/")[-1].startswith(_SECURITY_TYPES):
        return "security"
    if "bastion" in resource.name:
        return "access"
    service = resource.type.split(":")[1].split("/")[0]
    if service in _SERVICE_TIERS:
        return _SERVICE_TIERS[service]
    if service == "ec2":
        return "compute" if resource.type.split("/")[-1].startswith(_EC2_COMPUTE_TYPES) else "network"
    return next((tier for hint, tier in _NAME_HINTS if hint in resource.name), "compute")


def _aws_resources(plan: PlanResult) -> list[Recorded]:
    return [resource for resource in plan.resources if not resource.type.startswith("tinystack:")]


def _in_order(resources: Sequence[Recorded]) -> list[Recorded]:
    """The engine registers resources concurrently; a stable order keeps the output diffable."""
    return sorted(resources, key=lambda resource: (resource.type, resource.name))


@dataclass(frozen=True)
class NatSummary:
    group: str
    instances: int
    interface: str
    elastic_ip: Optional[str]
    boot_log_group: Optional[str]


def nat_summaries(resources: Sequence[Recorded]) -> list[NatSummary]:
    """Each NAT as the recorded resources wire it: its group, the static interface it attaches, its EIP, its log."""
    by_id = {resource.id: resource for resource in resources}
    summaries = []
    for group, template, interface in t.nat_groups(resources):
        eip = t.elastic_ip_of_interface(resources, interface)
        name = by_id[interface].name if interface in by_id else interface
        summaries.append(
            NatSummary(
                group.name, t.desired_capacity(group), name, eip.name if eip else None, t.nat_boot_log_group(template)
            )
        )
    return summaries


# JSON ------------------------------------------------------------------------------------------------------------


def as_json(plan: PlanResult) -> dict[str, Any]:
    cost = plan.cost
    return {
        "resources": [{"type": r.type, "name": r.name, "parent": r.parent_name} for r in _in_order(plan.resources)],
        "reachability": [{"from": e.source, "to": e.target, "ports": list(e.ports)} for e in plan.edges],
        "service_reachability": [
            {"service": row.service, "via": row.via, "zones": list(row.zones), "needed_by": list(row.needed_by)}
            for row in plan.services
        ],
        "violations": [{"resource": v.resource, "rule": v.rule, "detail": v.detail} for v in plan.violations],
        "monthly_cost": {
            "total_usd": cost.total_usd,
            "items": [{"name": item.name, "usd": item.usd} for item in cost.items],
            "nat_gateway_alternative_usd": cost.nat_gateway_alternative_usd,
            "interface_endpoints_usd": cost.endpoints_usd,
            "ten_endpoints_in_three_azs_usd": cost.ten_endpoints_in_three_azs_usd,
            "price_date": cost.price_date,
            "price_region": cost.price_region,
            # Not in the total: usage-priced items, and anything the price table does not know.
            "usage": [asdict(item) for item in cost.usage],
            "unpriced": list(cost.unpriced),
        },
        "nat": [asdict(summary) for summary in nat_summaries(plan.resources)],
        "failure_analysis": [asdict(loss) for loss in plan.failure_analysis],
        "diagram": str(plan.diagram.markdown),
    }


# Text ------------------------------------------------------------------------------------------------------------


def _wrap(text: str, indent: int, first: Optional[str] = None, width: int = WIDTH) -> list[str]:
    lead = " " * indent
    wrapped = textwrap.wrap(
        text,
        width,
        initial_indent=first or lead,
        subsequent_indent=lead,
        break_long_words=True,
        break_on_hyphens=False,
    )
    return wrapped or [first or lead]


def _header(plan: PlanResult) -> list[str]:
    lines = [f"TinyStack plan: stack {plan.stack}, region {plan.region}", "=" * WIDTH]
    return lines + _wrap(
        "Recorded offline under the Pulumi SDK's mocks, from the same program and config as `pulumi up`. "
        "Ids, ARNs and AMI ids are placeholders.",
        0,
    )


def _resources(plan: PlanResult) -> list[str]:
    aws = _aws_resources(plan)
    components = [r for r in plan.resources if r.type.startswith("tinystack:")]
    inside = ", ".join(f"{component.name} ({component.type})" for component in components)
    lines = ["", f"Resources: {len(aws)} AWS resources" + (f" in {inside}" if inside else "")]
    for tier in TIERS:
        members = [resource for resource in aws if tier_of(resource) == tier]
        if members:
            lines += [f"  {tier} ({len(members)})", *_tier_rows(members)]
    return lines


def _tier_rows(members: Sequence[Recorded]) -> list[str]:
    by_type: dict[str, list[str]] = {}
    for resource in _in_order(members):
        by_type.setdefault(resource.type.rsplit(":", 1)[-1], []).append(resource.short_name)
    rows = []
    for kind, names in sorted(by_type.items()):
        lead = f"    {kind:<25}{len(names):>3}  "
        rows += _wrap(", ".join(names), len(lead), lead)
    return rows


def _reachability(plan: PlanResult) -> list[str]:
    lines = ["", "Reachability (derived from security groups, routes and subnets)"]
    if not plan.edges:
        return [*lines, "  no connections found"]
    return lines + ["  " + line for line in format_table(plan.edges, width=78).splitlines()]


def _services(plan: PlanResult) -> list[str]:
    if not plan.services:
        return []
    lines = ["", "Service reachability (what the instances need from AWS, and how they reach it)"]
    return lines + ["  " + line for line in format_services(plan.services, width=78)]


def _egress(plan: PlanResult) -> list[str]:
    summaries = nat_summaries(plan.resources)
    if not summaries:
        return []
    lines = ["", "Egress (NAT instances that heal themselves)"]
    for nat in summaries:
        address = f", EIP {nat.elastic_ip}" if nat.elastic_ip else ", no EIP"
        lines += _wrap(f"{nat.group}: ASG of {nat.instances} behind static ENI {nat.interface}{address}", 4, "  ")
        if nat.boot_log_group:
            lines += _wrap(f"boot log: CloudWatch log group {nat.boot_log_group}, one stream per instance id", 4)
    return lines


def _yes(value: Optional[bool]) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def _failures(plan: PlanResult) -> list[str]:
    if not plan.failure_analysis:
        return []
    lines = ["", "Losing one AZ (from subnets, routes, NAT groups, the DB's Multi-AZ flag and AZ)"]
    lines.append(f"  {'lost zone':<16}{'front end':<11}{'database':<10}egress of the other AZs")
    for loss in plan.failure_analysis:
        egress = ", ".join(f"{zone} {_yes(ok)}" for zone, ok in loss.egress.items()) or "-"
        lines.append(f"  {loss.lost_zone:<16}{_yes(loss.serving):<11}{_yes(loss.database):<10}{egress}")
    if any(not all(loss.egress.values()) for loss in plan.failure_analysis if loss.egress):
        lines += _wrap(
            "Egress NO: that AZ's NAT is in the lost AZ and no other NAT takes over (natHighAvailability).", 2
        )
    if any(loss.database is False for loss in plan.failure_analysis):
        lines += _wrap(
            "Database NO: single-AZ, and its AZ may be the lost one: RDS picks it among the subnet group's AZs, which "
            "the plan cannot see unless the database names its availabilityZone (database.multiAz keeps it up).",
            2,
        )
    return lines


def _violations(plan: PlanResult) -> list[str]:
    lines = ["", f"Violations: {len(plan.violations) or 'none'}"]
    for violation in plan.violations:
        lines += _wrap(f"{violation.resource}: {violation.rule}", 4, "  ! ")
        lines += _wrap(violation.detail, 6)
    return lines


def _money(usd: float) -> str:
    return f"{usd:,.2f}"


def _rate(usd: float) -> str:
    """A unit price with the digits it has: 0.005 per hour must not read as 0.01."""
    if round(usd, 2) == usd:
        return _money(usd)
    return f"{usd:,.6f}".rstrip("0")


def _amount_row(label: str, usd: float) -> list[str]:
    """The label wrapped within 66 columns, the amount right-aligned on its last line."""
    rows = _wrap(label, 4, "  ", width=66)
    return [*rows[:-1], f"{rows[-1]:<66}{_money(usd):>12}"]


def _cost(plan: PlanResult) -> list[str]:
    cost = plan.cost
    lines = ["", f"Monthly cost estimate (USD, on-demand {cost.price_region} list prices of {cost.price_date})"]
    lines += [row for item in cost.items for row in _amount_row(item.name, item.usd)]
    lines += [f"  {'-' * 76}", *_amount_row("Total, fixed (an estimate, not a quote)", cost.total_usd)]
    if plan.region != cost.price_region:
        lines += _wrap(f"Prices are for {cost.price_region}; {plan.region} prices differ.", 2)
    if cost.usage:
        lines += ["  Usage-based, not in the total:"]
        lines += [
            row for item in cost.usage for row in _wrap(f"{item.name}: {_rate(item.usd)} USD {item.unit}", 6, "    - ")
        ]
    if cost.unpriced:
        lines += ["  Not priced:", *[row for note in cost.unpriced for row in _wrap(note, 6, "    - ")]]
    return (
        lines
        + _endpoint_saving(cost)
        + _nat_alternative(cost)
        + ["  Assumptions:"]
        + [row for assumption in cost.assumptions for row in _wrap(assumption, 6, "    - ")]
    )


def _endpoint_saving(cost: CostEstimate) -> list[str]:
    baseline = cost.ten_endpoints_in_three_azs_usd
    if baseline is None:
        return []
    return _wrap(
        f"Ten interface endpoints in three AZs (every service, everywhere) would cost {_money(baseline)} USD/month; "
        f"these save {_money(baseline - cost.endpoints_usd)} USD/month.",
        2,
    )


def _nat_alternative(cost: CostEstimate) -> list[str]:
    alternative = cost.nat_gateway_alternative_usd
    if alternative is None:
        return []
    saving = alternative - cost.total_usd
    return _wrap(
        f"With one NAT gateway per AZ instead of the NAT instances: {_money(alternative)} USD/month; "
        f"the NAT instances save {_money(saving)} USD/month.",
        2,
    )


def _diagram(plan: PlanResult) -> list[str]:
    svg = f"  {plan.diagram.svg}" if plan.diagram.svg else "  (no SVG: Graphviz `dot` is not on PATH)"
    return ["", "Diagram:", f"  {plan.diagram.markdown} (Mermaid)", svg]


def as_text(plan: PlanResult, elapsed_seconds: float) -> str:
    lines = _header(plan) + _resources(plan) + _egress(plan) + _failures(plan) + _reachability(plan)
    lines += _services(plan) + _violations(plan)
    lines += _cost(plan) + _diagram(plan)
    status = 1 if plan.violations else 0
    lines += ["", f"Planned offline in {elapsed_seconds:.2f} s (after imports); exit status {status}."]
    return "\n".join(lines)
