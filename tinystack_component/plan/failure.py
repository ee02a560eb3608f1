"""What losing one Availability Zone leaves working, derived from the recorded resources (never from the config).

For each AZ of the stack: does the front end still serve (its subnets and the container instances' subnets in
another AZ), does each surviving AZ's app subnet keep egress (its default route's NAT is elsewhere, or a surviving NAT
takes the route over: only NAT groups with peers run the watchdog that does), and is the database still reachable
(Multi-AZ, or placed in another AZ).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from . import topology as t
from .reachability import (
    CONTAINER_INSTANCES,
    LOAD_BALANCER,
    NAT_INSTANCE,
    ROUTE_TO_INSTANCE,
    VPC_LINK,
    ResourcesOrTopology,
    Topology,
    as_topology,
)
from .recording import Recorded
from .topology import truthy


@dataclass(frozen=True)
class ZoneLoss:
    lost_zone: str
    serving: bool
    egress: dict[str, bool]
    database: Optional[bool]


def failure_analysis(resources: ResourcesOrTopology) -> list[ZoneLoss]:
    topology = as_topology(resources)
    zone_of = {s.id: s.inputs.get("availabilityZone", "") for s in topology.of_type(t.SUBNET)}
    nat_zones = _nat_zones(topology, zone_of)
    # Only NATs with peers run the watchdog that takes a dead NAT's routes over.
    takeover = len(t.nat_groups(topology.resources)) > 1
    front_end = _subnets(topology, {LOAD_BALANCER, VPC_LINK})
    containers = _subnets(topology, {CONTAINER_INSTANCES})
    losses = []
    for zone in t.zones(topology.of_type(t.SUBNET)):
        serving = _elsewhere(front_end, zone_of, zone) and _elsewhere(containers, zone_of, zone)
        egress = {
            zone_of[subnet]: _egress(topology, subnet, zone, nat_zones, takeover)
            for subnet in sorted(containers, key=lambda subnet: zone_of.get(subnet, ""))
            if zone_of.get(subnet) and zone_of[subnet] != zone
        }
        losses.append(ZoneLoss(zone, serving, egress, _database(topology, zone_of, zone)))
    return losses


def _subnets(topology: Topology, endpoints: set[str]) -> set[str]:
    return {subnet for member in topology.members if member.endpoint in endpoints for subnet in member.subnets}


def _elsewhere(subnets: Iterable[str], zone_of: dict[str, str], zone: str) -> bool:
    return any(zone_of.get(subnet) not in (None, "", zone) for subnet in subnets)


def _nat_zones(topology: Topology, zone_of: dict[str, str]) -> dict[str, str]:
    """The AZ of each NAT (plain instance or static interface), by the id the app routes target."""
    return {
        member.id: zone_of.get(min(member.subnets), "")
        for member in topology.members
        if member.endpoint == NAT_INSTANCE and member.subnets
    }


def _egress(topology: Topology, subnet: str, lost: str, nat_zones: dict[str, str], takeover: bool) -> bool:
    for route in topology.subnet_routes.get(subnet, []):
        if route.is_default and route.kind == ROUTE_TO_INSTANCE and route.target in nat_zones:
            survivors = [nat for nat, zone in nat_zones.items() if zone != lost]
            return nat_zones[route.target] != lost or (takeover and bool(survivors))
    return False


def _database(topology: Topology, zone_of: dict[str, str], lost: str) -> Optional[bool]:
    databases = topology.of_type(t.DB_INSTANCE)
    if not databases:
        return None
    return all(database_survives(topology, database, zone_of, lost) for database in databases)


def database_survives(topology: Topology, database: Recorded, zone_of: dict[str, str], lost: str) -> bool:
    """Multi-AZ survives any one AZ. A single-AZ database survives when its AZ is known to be another one: its
    `availabilityZone`, or a subnet group with no subnet in the lost AZ. Otherwise RDS chose its AZ among the subnet
    group's, which the recorded resources cannot tell: it may be the lost one, so it does not count as surviving."""
    inputs = database.inputs
    if truthy(inputs.get("multiAz")):
        return True
    if inputs.get("availabilityZone"):
        return bool(inputs["availabilityZone"] != lost)
    zones = {
        zone_of.get(subnet, "")
        for subnet in t.subnet_group_subnets(topology.resources, inputs.get("dbSubnetGroupName"))
    }
    return bool(zones) and "" not in zones and lost not in zones
