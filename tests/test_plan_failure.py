"""The plan's failure analysis: what losing each AZ leaves working, from the recorded resources."""

import pytest

from tests.plan_factory import Fake, associate, route
from tinystack_component.plan.failure import failure_analysis

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
SINGLE_AZ_DB = {"database": {"engine": "postgres"}}
MULTI_AZ_DB = {"database": {"engine": "postgres", "multi_az": True}}


def by_zone(stack):
    return {loss.lost_zone: loss for loss in failure_analysis(stack.resources)}


def test_a_single_nat_loses_egress_everywhere_with_its_az(build):
    losses = by_zone(build(SINGLE_AZ_DB))
    assert list(losses) == list(ZONES)
    assert losses["us-east-1a"].egress == {"us-east-1b": False, "us-east-1c": False}
    assert losses["us-east-1b"].egress == {"us-east-1a": True, "us-east-1c": True}
    assert all(loss.serving for loss in losses.values())
    assert all(loss.database is False for loss in losses.values())


@pytest.mark.parametrize(("database", "survives"), [(SINGLE_AZ_DB, False), (MULTI_AZ_DB, True), ({}, None)])
def test_a_nat_per_az_keeps_egress_in_every_surviving_az(build, database, survives):
    losses = by_zone(build({"nat_high_availability": True, **database}))
    for zone, loss in losses.items():
        assert loss.egress == {other: True for other in ZONES if other != zone}
        assert loss.serving is True
        assert loss.database is survives


def test_isolated_subnets_have_no_egress_to_lose(build):
    losses = by_zone(build({"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}))
    assert all(not any(loss.egress.values()) for loss in losses.values())


def test_without_the_nat_group_a_takeover_is_not_counted(build):
    stack = build({"nat_high_availability": True})
    resources = [r for r in stack.resources if r.name not in ("web-nat-2-asg", "web-nat-3-asg")]
    losses = {loss.lost_zone: loss for loss in failure_analysis(resources)}
    assert losses["us-east-1b"].egress == {"us-east-1a": True, "us-east-1c": True}  # their own NATs
    assert losses["us-east-1a"].egress["us-east-1b"] is True  # NAT 2's interface is still in 1b


# Hand-built stacks (no mocks): three AZs, NAT interfaces, NAT groups and app routes chosen per test, so the takeover
# decision and the database's placement are what the answer hinges on.
SUBNET, ENI = "aws:ec2/subnet:Subnet", "aws:ec2/networkInterface:NetworkInterface"
TEMPLATE, GROUP = "aws:ec2/launchTemplate:LaunchTemplate", "aws:autoscaling/group:Group"


def three_zone_stack(*, groups=(0, 1, 2), routes=(0, 1, 2), database=None, db_subnets=(1, 2, 3)):
    """NAT interfaces in public-1..3; a NAT group (watchdog) for each index in `groups`; app-N's default route to
    NAT `routes[N-1]`; a database with `database` inputs over the app subnets `db_subnets`."""
    fake = Fake()
    vpc = fake.add("aws:ec2/vpc:Vpc", "web-vpc", cidrBlock="10.0.0.0/16").id
    for number, zone in enumerate(ZONES, start=1):
        for kind, third in (("public", 192), ("app", 0)):
            cidr = f"10.0.{third + 16 * number}.0/20"
            fake.add(SUBNET, f"web-{kind}-{number}", vpcId=vpc, cidrBlock=cidr, availabilityZone=zone)
    igw = fake.add("aws:ec2/internetGateway:InternetGateway", "web-igw", vpcId=vpc).id
    public_rt = fake.add("aws:ec2/routeTable:RouteTable", "web-public-rt", vpcId=vpc).id
    route(fake, "web-public-default-route", public_rt, gatewayId=igw)
    interfaces = []
    for number in (1, 2, 3):
        associate(fake, public_rt, f"public-{number}")
        subnet = fake.id(f"web-public-{number}")
        interfaces.append(fake.add(ENI, f"web-nat-{number}-eni", subnetId=subnet, sourceDestCheck=False).id)
        if number - 1 in groups:
            tags = {"TinyStackNatInterface": interfaces[-1]}
            template = fake.add(TEMPLATE, f"web-nat-{number}-lt", instanceType="t4g.nano", tags=tags)
            launch = {"id": template.id, "version": "1"}
            fake.add(GROUP, f"web-nat-{number}-asg", vpcZoneIdentifiers=[subnet], launchTemplate=launch)
    for number, owner in enumerate(routes, start=1):
        table = fake.add("aws:ec2/routeTable:RouteTable", f"web-app-{number}-rt", vpcId=vpc).id
        associate(fake, table, f"app-{number}")
        route(fake, f"web-app-{number}-default-route", table, networkInterfaceId=interfaces[owner])
    app_subnets = [fake.id(f"web-app-{number}") for number in (1, 2, 3)]
    template = fake.add(TEMPLATE, "web-container-instances", instanceType="t3.small")
    fake.add(GROUP, "web-asg", vpcZoneIdentifiers=app_subnets, launchTemplate={"id": template.id, "version": "1"})
    balancer_subnets = [fake.id(f"web-public-{number}") for number in (1, 2, 3)]
    fake.add("aws:lb/loadBalancer:LoadBalancer", "web-alb", subnets=balancer_subnets, loadBalancerType="application")
    if database is not None:
        fake.add(
            "aws:rds/subnetGroup:SubnetGroup",
            "web-db-subnets",
            subnetIds=[fake.id(f"web-app-{number}") for number in db_subnets],
            outputs={"name": "web-db-subnets-1a2b3c"},
        )
        fake.add("aws:rds/instance:Instance", "web-database", dbSubnetGroupName="web-db-subnets-1a2b3c", **database)
    return {loss.lost_zone: loss for loss in failure_analysis(fake.resources)}


def test_a_surviving_nat_group_takes_over_a_route_whose_nat_is_lost():
    # AZ 3's route still points at NAT 1 (as after a takeover or a move): with peers, a survivor takes it over.
    losses = three_zone_stack(routes=(0, 1, 0))
    assert losses["us-east-1a"].egress == {"us-east-1b": True, "us-east-1c": True}


def test_without_a_watchdog_there_is_no_takeover_target():
    # The same routes, but only NAT 1 runs in a group (no peers, no watchdog): NATs 2 and 3 are interfaces nobody
    # drives, so AZ 3's route stays on the lost NAT.
    losses = three_zone_stack(groups=(0,), routes=(0, 1, 0))
    assert losses["us-east-1a"].egress == {"us-east-1b": True, "us-east-1c": False}
    assert losses["us-east-1b"].egress == {"us-east-1a": True, "us-east-1c": True}


def test_routes_all_on_nat_1_move_to_the_peers_when_its_az_is_lost():
    # Every route on NAT 1 (a single-NAT layout) but peers in every AZ: losing AZ 1 moves them to a survivor.
    losses = three_zone_stack(routes=(0, 0, 0))
    assert losses["us-east-1a"].egress == {"us-east-1b": True, "us-east-1c": True}
    assert losses["us-east-1c"].egress == {"us-east-1a": True, "us-east-1b": True}


@pytest.mark.parametrize(
    ("database", "db_subnets", "survives"),
    [
        # Placed by name in AZ 2: only losing AZ 2 takes it.
        ({"availabilityZone": "us-east-1b"}, (1, 2, 3), {"us-east-1a": True, "us-east-1b": False, "us-east-1c": True}),
        # A subnet group in AZs 2 and 3 only: losing AZ 1 cannot take it; losing 2 or 3 may.
        ({}, (2, 3), {"us-east-1a": True, "us-east-1b": False, "us-east-1c": False}),
        # RDS picks among all three AZs: it may be in any lost AZ (the honest, conservative answer).
        ({}, (1, 2, 3), {"us-east-1a": False, "us-east-1b": False, "us-east-1c": False}),
        ({"multiAz": True}, (1, 2, 3), {"us-east-1a": True, "us-east-1b": True, "us-east-1c": True}),
    ],
)
def test_a_single_az_database_outside_the_lost_zone_survives(database, db_subnets, survives):
    losses = three_zone_stack(database=database, db_subnets=db_subnets)
    assert {zone: loss.database for zone, loss in losses.items()} == survives
