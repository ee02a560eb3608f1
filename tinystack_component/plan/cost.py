"""A monthly cost estimate of a recorded stack, from the dated on-demand price table shipped in `prices.json`.

Everything is derived from the recorded resources (instance types, capacities, volume sizes, subnets), so the
estimate follows what the program would create, not what the config says.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as package_files
from typing import Any, NamedTuple, Optional

from . import topology as t
from .reachability import ResourcesOrTopology, Topology, as_topology
from .recording import Recorded

# AL2023 AMIs ship an 8 GB root volume; the ECS-optimized AL2023 AMI ships 30 GB.
DEFAULT_INSTANCE_ROOT_GB = 8
DEFAULT_CONTAINER_ROOT_GB = 30
ASSUMED_LOG_GB = 5
ASSUMED_ALB_LCUS = 1
# Isolated mode before the endpoint set followed the configuration: every service's endpoint in every AZ.
BASELINE_ENDPOINTS, BASELINE_ENDPOINT_ZONES = 10, 3
# Enhanced monitoring writes one RDSOSMetrics log event per sample; about 1.5 KB each (an assumption, stated).
ASSUMED_OS_METRICS_KB = 1.5


class LineItem(NamedTuple):
    name: str
    usd: float


@dataclass(frozen=True)
class UsageItem:
    name: str
    usd: float
    unit: str


@dataclass(frozen=True)
class CostEstimate:
    items: list[LineItem]
    usage: list[UsageItem]
    total_usd: float
    nat_gateway_alternative_usd: Optional[float]
    price_date: str
    price_region: str
    assumptions: list[str]
    unpriced: list[str] = field(default_factory=list)
    endpoints_usd: float = 0.0
    """The interface endpoints' share of the total."""
    ten_endpoints_in_three_azs_usd: Optional[float] = None
    """What ten interface endpoints in three AZs cost, when the stack has interface endpoints: the saving's base."""


@cache
def load_prices() -> dict[str, Any]:
    return json.loads(package_files.files(__package__).joinpath("prices.json").read_text())


class _Estimator:
    def __init__(self, topology: Topology, prices: dict[str, Any]) -> None:
        self.topology = topology
        self.resources = topology.resources
        self.prices = prices
        self.hours = prices["hours_per_month"]
        self.items: list[LineItem] = []
        self.usage: list[UsageItem] = []
        self.unpriced: list[str] = []
        self.assumptions = [
            f"{self.hours} hours a month; on-demand list prices; no free tier, data transfer, taxes or discounts.",
        ]
        self.gp3_gb = 0.0
        self.public_ipv4 = 0
        # What each NAT instance adds to the total, for the NAT gateway alternative to take out again.
        self.nat_instances_usd: list[float] = []
        self.endpoints_usd = 0.0

    def add(self, name: str, usd: float) -> None:
        self.items.append(LineItem(name, round(usd, 2)))

    def hourly(self, table: str, kind: str, resource: Recorded) -> Optional[float]:
        price = self.prices[table].get(kind)
        if price is None:
            self.unpriced.append(f"{resource.name}: no price for {kind!r} in the table, left out of the total")
        return price

    def instances(self) -> None:
        attached = {eip.inputs.get("instance") for eip in t.of_type(self.resources, t.EIP)}
        for instance in t.of_type(self.resources, t.INSTANCE):
            monthly = self.instance_line(instance)
            self.gp3_gb += _root_volume_gb(instance)
            if t.is_nat_instance(instance):
                self.nat_instances_usd.append(monthly + self.nat_instance_extras(instance))
            # An EIP replaces the address the instance would get on launch, so it is counted once, as the EIP.
            if instance.inputs.get("associatePublicIpAddress") and instance.id not in attached:
                self.public_ipv4 += 1
        self.public_ipv4 += len(t.of_type(self.resources, t.EIP))

    def instance_line(self, instance: Recorded) -> float:
        """Adds the instance's hours as a line item and returns them in USD (0 when its type has no price)."""
        kind = instance.inputs.get("instanceType", "")
        price = self.hourly("ec2_instance_hour", kind, instance)
        if price is None:
            return 0.0
        role = "NAT instance" if t.is_nat_instance(instance) else "EC2 instance"
        self.add(f"{role} {instance.name} ({kind})", price * self.hours)
        return price * self.hours

    def nat_instance_extras(self, nat: Recorded) -> float:
        """Its public address and root volume, which the NAT gateways replace along with its hours."""
        return self.prices["public_ipv4_hour"] * self.hours + _root_volume_gb(nat) * self.prices["ebs_gp3_gb_month"]

    def nat_groups(self) -> None:
        """NAT instances in Auto Scaling groups: hours and root volume per instance; the EIP counts with the rest."""
        launch_addresses = 0
        for group, template, interface in t.nat_groups(self.resources):
            count = t.desired_capacity(group)
            kind = template.inputs.get("instanceType", "")
            price = self.hourly("ec2_instance_hour", kind, template)
            behind = self.topology.by_id[interface].name if interface in self.topology.by_id else interface
            monthly = count * (price or 0.0) * self.hours
            if price is not None:
                self.add(f"NAT instance {group.name} (ASG of {count} x {kind} behind {behind})", monthly)
            volume = count * _template_volume_gb(template, DEFAULT_INSTANCE_ROOT_GB)
            self.gp3_gb += volume
            self.nat_instances_usd.append(
                monthly + volume * self.prices["ebs_gp3_gb_month"] + self.prices["public_ipv4_hour"] * self.hours
            )
            asked = [nic.get("associatePublicIpAddress") for nic in template.inputs.get("networkInterfaces") or []]
            launch_addresses += count * any(t.truthy(value) for value in asked)
        if len(t.nat_groups(self.resources)) > 1:
            self.usage.append(
                UsageItem(
                    "Cross-AZ data while a NAT carries another AZ's egress (after a takeover)",
                    2 * self.prices["cross_az_gb"],
                    f"per GB ({self.prices['cross_az_gb']} each way)",
                )
            )
        if launch_addresses:
            kept = self.prices["public_ipv4_hour"] * self.hours
            self.usage.append(
                UsageItem(
                    f"NAT launch-time public IPv4 ({launch_addresses}), held until the boot script gives it back",
                    self.prices["public_ipv4_hour"],
                    f"per hour held; {kept:.2f} a month each if it is kept",
                )
            )
            nats = sum(self.nat_instances_usd)
            kept_all = nats + launch_addresses * kept
            which = "the NAT" if launch_addresses == 1 else f"the {launch_addresses} NATs"
            self.assumptions.append(
                f"NAT: the launch-time public IPv4 is counted as usage (hours held), not in the total: the boot script "
                f"gives it back once egress runs through the Elastic IP (minutes per launch). If the give-back fails "
                f"(the boot log says so), each NAT keeps it: +{kept:.2f} a month each, {kept_all:.2f} instead of "
                f"{nats:.2f} for {which}."
            )

    def container_instances(self) -> None:
        nat_groups = {group.id for group, _, _ in t.nat_groups(self.resources)}
        for group in t.of_type(self.resources, t.AUTOSCALING_GROUP):
            if group.id in nat_groups:
                continue
            template = t.launch_template_of(group, self.resources)
            if template is None:
                self.unpriced.append(f"{group.name}: launch template not found, instances left out of the total")
                continue
            count = t.desired_capacity(group)
            kind = template.inputs.get("instanceType", "")
            price = self.hourly("ec2_instance_hour", kind, template)
            if price is not None:
                self.add(f"ECS container instances {group.name} ({count} x {kind})", count * price * self.hours)
            self.gp3_gb += count * _template_volume_gb(template)

    def load_balancers(self) -> None:
        for balancer in t.of_type(self.resources, *t.LOAD_BALANCERS):
            if balancer.inputs.get("loadBalancerType", "application") != "application":
                self.unpriced.append(f"{balancer.name}: only application load balancers are priced")
                continue
            hourly = self.prices["alb_hour"] + ASSUMED_ALB_LCUS * self.prices["alb_lcu_hour"]
            self.add(f"Application Load Balancer {balancer.name} (hours + {ASSUMED_ALB_LCUS} LCU)", hourly * self.hours)
            if not balancer.inputs.get("internal"):
                self.public_ipv4 += len(balancer.inputs.get("subnets") or [])
        if t.of_type(self.resources, *t.LOAD_BALANCERS):
            self.assumptions.append(f"ALB: {ASSUMED_ALB_LCUS} LCU on average; one public IPv4 address per subnet.")

    def interface_endpoints(self) -> None:
        endpoints = t.interface_endpoints(self.resources)
        if not endpoints:
            return
        per_zone = self.prices["interface_endpoint_az_hour"] * self.hours
        app_zones = self.app_zone_count()
        narrow = []
        for endpoint in endpoints:
            # Billed per endpoint and per AZ it has a network interface in.
            zones = len(endpoint.inputs.get("subnetIds") or [])
            service = str(endpoint.inputs.get("serviceName") or endpoint.name).rsplit(".amazonaws.", 1)[-1]
            service = service.split(".", 1)[1] if "." in service else service
            self.add(f"VPC interface endpoint {service} ({zones} AZ{'s' * (zones != 1)})", zones * per_zone)
            self.endpoints_usd += zones * per_zone
            if zones < app_zones:
                narrow.append(service)
        self.assumptions.append(
            f"Interface endpoints: {self.prices['interface_endpoint_az_hour']} USD per endpoint per AZ-hour, "
            f"plus {self.prices['interface_endpoint_gb']} USD per GB processed (not included)."
        )
        if narrow:
            self.assumptions.append(
                f"Cross-AZ traffic: {', '.join(sorted(narrow))} in fewer AZs than the {app_zones} of the app "
                f"subnets; the others reach them across zones at {self.prices['cross_az_gb_each_way']} USD per GB "
                "each way (not included)."
            )

    def app_zone_count(self) -> int:
        """The AZs of the subnets without a route to an internet gateway, where the endpoints' users live."""
        public = {subnet.id for subnet in self.topology.public_subnets()}
        return len(t.zones(s for s in t.of_type(self.resources, t.SUBNET) if s.id not in public))

    def databases(self) -> None:
        for database in t.of_type(self.resources, t.DB_INSTANCE):
            copies = 2 if database.inputs.get("multiAz") else 1
            layout = "Multi-AZ" if copies == 2 else "single-AZ"
            kind = database.inputs.get("instanceClass", "")
            price = self.hourly("rds_instance_hour", kind, database)
            if price is not None:
                self.add(f"RDS {database.name} ({kind}, {layout})", copies * price * self.hours)
            storage = t.number(database.inputs.get("allocatedStorage"), 20)
            self.add(
                f"RDS gp3 storage {database.name} ({storage:g} GB, {layout})",
                copies * storage * self.prices["rds_gp3_gb_month"],
            )
        if t.of_type(self.resources, t.DB_INSTANCE):
            self.assumptions.append("RDS: PostgreSQL single-AZ prices; Multi-AZ doubles the instance and its storage.")

    def enhanced_monitoring(self) -> None:
        for database in t.of_type(self.resources, t.DB_INSTANCE):
            interval = t.number(database.inputs.get("monitoringInterval"), 0)
            if interval <= 0:
                continue
            gb = self.hours * 3600 / interval * ASSUMED_OS_METRICS_KB / 1024 / 1024
            per_gb = self.prices["logs_ingest_gb"] + self.prices["logs_storage_gb_month"]
            self.add(f"RDS enhanced monitoring {database.name} (every {interval:g} s, {gb:.2f} GB logs)", gb * per_gb)
            self.assumptions.append(
                f"RDS enhanced monitoring: {ASSUMED_OS_METRICS_KB:g} KB of CloudWatch Logs per sample, kept a month."
            )

    def web_acls(self) -> None:
        monthly = self.prices["monthly"]
        for acl in t.of_type(self.resources, t.WEB_ACL):
            rules = len(acl.inputs.get("rules") or [])
            self.add(
                f"WAF web ACL {acl.name} (1 ACL + {rules} rules)", monthly["waf_web_acl"] + rules * monthly["waf_rule"]
            )
            price = self.prices["waf_million_requests"]
            self.usage.append(UsageItem(f"WAF web ACL {acl.name} requests", price, "per million requests"))

    def kms_keys(self) -> None:
        keys = t.of_type(self.resources, t.KMS_KEY)
        if keys:
            self.add(f"KMS customer-managed keys ({len(keys)})", len(keys) * self.prices["monthly"]["kms_key"])
            self.assumptions.append("KMS: the key's monthly fee; its API requests stay within cents a month.")

    def logs(self) -> None:
        if not t.of_type(self.resources, t.LOG_GROUP):
            return
        per_gb = self.prices["logs_ingest_gb"] + self.prices["logs_storage_gb_month"]
        self.add(f"CloudWatch Logs (assumed {ASSUMED_LOG_GB} GB/month)", ASSUMED_LOG_GB * per_gb)
        self.assumptions.append(f"CloudWatch Logs: {ASSUMED_LOG_GB} GB a month ingested and kept, over all log groups.")

    def http_apis(self) -> None:
        for api in t.of_type(self.resources, t.HTTP_API):
            if api.inputs.get("protocolType") == "HTTP":
                price = self.prices["http_api_million_requests"]
                self.usage.append(UsageItem(f"HTTP API {api.name} requests", price, "per million requests"))

    def shared_meters(self) -> None:
        if self.gp3_gb:
            self.add(f"EBS gp3 volumes ({self.gp3_gb:g} GB)", self.gp3_gb * self.prices["ebs_gp3_gb_month"])
            self.assumptions.append(
                f"EBS: gp3; root volumes without a size are {DEFAULT_INSTANCE_ROOT_GB} GB (AL2023), "
                f"{DEFAULT_CONTAINER_ROOT_GB} GB for container instances (ECS-optimized AL2023)."
            )
        if self.public_ipv4:
            ipv4 = self.public_ipv4 * self.prices["public_ipv4_hour"] * self.hours
            self.add(f"Public IPv4 addresses ({self.public_ipv4})", ipv4)

    def nat_gateway_alternative(self, total: float) -> Optional[float]:
        """The same stack with one NAT gateway (and its public IPv4 address) per AZ instead of the NAT instance."""
        if not self.nat_instances_usd:
            return None
        zone_count = len(t.zones(self.topology.public_subnets()) or t.zones(t.of_type(self.resources, t.SUBNET)))
        gateways = max(zone_count, 1) * (self.prices["nat_gateway_hour"] + self.prices["public_ipv4_hour"])
        self.assumptions.append(
            f"NAT gateway alternative: one per AZ with its own public IPv4 address, "
            f"plus {self.prices['nat_gateway_gb']} USD per GB processed (not included)."
        )
        return round(total - sum(self.nat_instances_usd) + gateways * self.hours, 2)

    def estimate(self) -> CostEstimate:
        for step in (
            self.instances,
            self.nat_groups,
            self.container_instances,
            self.load_balancers,
            self.interface_endpoints,
            self.databases,
            self.enhanced_monitoring,
            self.web_acls,
            self.kms_keys,
            self.logs,
            self.http_apis,
            self.shared_meters,
        ):
            step()
        total = round(sum(item.usd for item in self.items), 2)
        alternative = self.nat_gateway_alternative(total)
        baseline = None
        if self.endpoints_usd:
            zone_hours = BASELINE_ENDPOINTS * BASELINE_ENDPOINT_ZONES
            baseline = round(zone_hours * self.prices["interface_endpoint_az_hour"] * self.hours, 2)
        return CostEstimate(
            self.items,
            self.usage,
            total,
            alternative,
            self.prices["price_date"],
            self.prices["region"],
            self.assumptions,
            self.unpriced,
            round(self.endpoints_usd, 2),
            baseline,
        )


def _root_volume_gb(instance: Recorded) -> float:
    root = instance.inputs.get("rootBlockDevice") or {}
    return t.number(root.get("volumeSize"), DEFAULT_INSTANCE_ROOT_GB)


def _template_volume_gb(template: Recorded, default: float = DEFAULT_CONTAINER_ROOT_GB) -> float:
    mappings = template.inputs.get("blockDeviceMappings") or []
    sizes = [t.number((mapping.get("ebs") or {}).get("volumeSize"), 0) for mapping in mappings]
    return sum(sizes) or default


def estimate(resources: ResourcesOrTopology, prices: Optional[dict[str, Any]] = None) -> CostEstimate:
    """The monthly estimate of a recorded stack: fixed line items and total, usage items, the NAT gateway variant."""
    return _Estimator(as_topology(resources), prices or load_prices()).estimate()
