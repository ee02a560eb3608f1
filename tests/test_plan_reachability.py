"""Reachability: who can open a connection to whom, derived from recorded resources, never from config."""

import pytest

from tests.plan_factory import ADMIN_CIDR, ANYWHERE, APP_PORT, APP_SUBNETS, DB_PORT, VPC_CIDR, Fake, good_stack
from tinystack_component.plan.reachability import (
    Edge,
    PortRange,
    find_edges,
    format_table,
    label_covers,
    port_labels,
)

ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}
PRIVATE_ENDPOINTS = {"container-instances", "database", "vpc-endpoints", "api-gateway (vpc link)"}


def pairs(fake_or_resources) -> dict[tuple[str, str], tuple[str, ...]]:
    resources = fake_or_resources.resources if isinstance(fake_or_resources, Fake) else fake_or_resources
    return {(edge.source, edge.target): edge.ports for edge in find_edges(resources)}


def edge(fake: Fake, source: str, target: str) -> Edge:
    (found,) = [e for e in find_edges(fake.resources) if (e.source, e.target) == (source, target)]
    return found


# --- the compliant hand-built stacks ---------------------------------------------------------------------------------


def test_alb_stack_with_nat_database_and_bastion():
    assert pairs(good_stack()) == {
        ("internet", "load-balancer"): ("80", "443"),
        ("internet", "bastion"): ("22",),
        ("load-balancer", "container-instances"): (str(APP_PORT),),
        ("container-instances", "database"): (str(DB_PORT),),
        ("bastion", "database"): (str(DB_PORT),),
        ("container-instances", "internet"): ("all",),
        ("container-instances", "nat-instance"): ("all",),
        ("nat-instance", "internet"): ("all",),
        ("bastion", "internet"): ("443",),
        # Security groups allow these; nothing listens there, but they are true of the rules as written.
        ("container-instances", "load-balancer"): ("80", "443"),
        ("bastion", "load-balancer"): ("443",),
        ("bastion", "nat-instance"): ("443",),
        ("nat-instance", "load-balancer"): ("80", "443"),
    }


def test_api_gateway_stack_in_isolated_subnets():
    assert pairs(good_stack(front_end="api", nat=False)) == {
        ("internet", "api-gateway (vpc link)"): ("443",),
        ("internet", "bastion"): ("22",),
        ("api-gateway (vpc link)", "container-instances"): (str(APP_PORT),),
        ("container-instances", "database"): (str(DB_PORT),),
        ("container-instances", "vpc-endpoints"): ("443",),
        ("bastion", "database"): (str(DB_PORT),),
        ("bastion", "internet"): ("443",),
        ("bastion", "vpc-endpoints"): ("443",),
    }


def test_edges_name_their_rules_and_internet_sources():
    fake = good_stack()
    front = edge(fake, "internet", "load-balancer")
    assert front.sources == (ANYWHERE,)
    assert front.resources == ("web-allow-internet-to-alb-tcp-443-in", "web-allow-internet-to-alb-tcp-80-in")
    assert edge(fake, "internet", "bastion").sources == (ADMIN_CIDR,)
    assert edge(fake, "load-balancer", "container-instances").resources == (
        f"web-allow-alb-to-containers-tcp-{APP_PORT}-in",
        f"web-allow-alb-to-containers-tcp-{APP_PORT}-out",
    )


def test_output_is_sorted_and_independent_of_recording_order():
    fake = good_stack()
    edges = find_edges(fake.resources)
    assert edges == sorted(edges, key=lambda e: (e.source, e.target))
    assert find_edges(list(reversed(fake.resources))) == edges


# --- security group to security group --------------------------------------------------------------------------------


@pytest.mark.parametrize("half", ["out", "in"])
def test_sg_to_sg_needs_both_the_egress_and_the_ingress_half(half):
    fake = good_stack().drop(f"web-allow-alb-to-containers-tcp-{APP_PORT}-{half}")
    assert ("load-balancer", "container-instances") not in pairs(fake)


def test_ports_are_what_both_halves_allow():
    fake = good_stack().drop(f"web-allow-alb-to-containers-tcp-{APP_PORT}-out")
    fake.rule("alb-all-out", "alb", None, ingress=False, peer="containers")
    assert pairs(fake)[("load-balancer", "container-instances")] == (str(APP_PORT),)
    fake.drop("alb-all-out").rule("alb-443-out", "alb", 443, ingress=False, peer="containers")
    assert ("load-balancer", "container-instances") not in pairs(fake)


@pytest.mark.parametrize(("cidr", "reachable"), [(VPC_CIDR, True), (ANYWHERE, True), ("192.168.0.0/24", False)])
def test_a_cidr_peer_counts_when_it_covers_the_peers_subnets(cidr, reachable):
    fake = good_stack().drop(f"web-allow-containers-to-database-tcp-{DB_PORT}-in")
    fake.rule("db-from-cidr", "database", DB_PORT, ingress=True, cidr=cidr)
    assert (("container-instances", "database") in pairs(fake)) is reachable


def test_a_cidr_of_one_app_subnet_admits_the_containers_there():
    fake = good_stack().drop(f"web-allow-containers-to-database-tcp-{DB_PORT}-in")
    fake.rule("db-from-app-1", "database", DB_PORT, ingress=True, cidr=APP_SUBNETS["app-1"])
    assert pairs(fake)[("container-instances", "database")] == (str(DB_PORT),)


def test_all_protocols_on_both_sides_is_all():
    fake = good_stack()
    fake.allow_between("containers", "bastion", None)
    assert pairs(fake)[("container-instances", "bastion")] == ("all",)


def test_inline_and_legacy_rules_count_too():
    fake = good_stack().drop("web-allow-admin-1-to-bastion-tcp-22-in")
    fake.named("web-bastion-sg").inputs["ingress"] = [
        {"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["198.51.100.0/24"]}
    ]
    fake.add(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "legacy-rdp",
        type="ingress",
        securityGroupId=fake.sg("bastion"),
        protocol="tcp",
        fromPort=3389.0,
        toPort=3390.0,
        cidrBlocks=[ANYWHERE],
    )
    found = edge(fake, "internet", "bastion")
    assert found.ports == ("22", "3389-3390")
    assert found.sources == (ANYWHERE, "198.51.100.0/24")


# --- from the internet -----------------------------------------------------------------------------------------------


def test_only_a_cidr_beyond_the_vpc_counts_as_the_internet():
    fake = good_stack()
    fake.rule("nat-443-from-vpc", "nat-instance", 443, ingress=True, cidr="10.0.0.0/8")
    assert ("internet", "nat-instance") in pairs(fake)  # 10.0.0.0/8 reaches beyond the VPC
    fake = good_stack()
    assert ("internet", "nat-instance") not in pairs(fake)  # all protocols, but from the VPC CIDR only


def test_an_internal_load_balancer_is_not_reachable_from_the_internet():
    fake = good_stack().update("web-alb", internal=True)
    assert ("internet", "load-balancer") not in pairs(fake)


def test_a_load_balancer_without_an_internet_route_is_not_reachable():
    fake = good_stack()
    fake.update("web-alb", subnets=_app_subnet_ids(fake))
    assert ("internet", "load-balancer") not in pairs(fake)


def _app_subnet_ids(fake: Fake) -> list[str]:
    return [fake.id(f"web-{name}") for name in APP_SUBNETS]


def test_an_instance_needs_a_public_address_to_be_reached():
    fake = good_stack().update("web-bastion", associatePublicIpAddress=False)
    assert ("internet", "bastion") not in pairs(fake)
    fake.add("aws:ec2/eip:Eip", "bastion-eip", instance=fake.id("web-bastion"))
    assert pairs(fake)[("internet", "bastion")] == ("22",)


def test_a_subnet_that_maps_public_ips_gives_one():
    fake = good_stack()
    fake.named("web-bastion").inputs.pop("associatePublicIpAddress")
    assert ("internet", "bastion") not in pairs(fake)
    fake.update("web-public-2", mapPublicIpOnLaunch=True)
    assert ("internet", "bastion") in pairs(fake)


def test_containers_with_public_ips_in_public_subnets_are_reachable():
    fake = good_stack()
    public = [fake.id("web-public-1"), fake.id("web-public-2")]
    fake.update("web-asg", vpcZoneIdentifiers=public)
    fake.named("web-container-instances").inputs["networkInterfaces"][0]["associatePublicIpAddress"] = "true"
    fake.rule("containers-from-anywhere", "containers", APP_PORT, ingress=True, cidr=ANYWHERE)
    assert pairs(fake)[("internet", "container-instances")] == (str(APP_PORT),)


@pytest.mark.parametrize("public", [False, True])
def test_a_database_is_reachable_from_the_internet_only_when_publicly_accessible(public):
    fake = good_stack().update("web-database", publiclyAccessible=public)
    fake.rule("db-from-anywhere", "database", DB_PORT, ingress=True, cidr=ANYWHERE)
    assert (("internet", "database") in pairs(fake)) is public


def test_the_http_api_is_public_only_with_a_vpc_link():
    assert pairs(good_stack(front_end="api"))[("internet", "api-gateway (vpc link)")] == ("443",)
    websocket = good_stack(front_end="api").update("web-api", protocolType="WEBSOCKET")
    assert ("internet", "api-gateway (vpc link)") not in pairs(websocket)
    no_link = good_stack(front_end="api").drop("web-vpc-link")
    assert ("internet", "api-gateway (vpc link)") not in pairs(no_link)


# --- to the internet -------------------------------------------------------------------------------------------------


def test_isolated_subnets_never_reach_the_internet():
    fake = good_stack(nat=False)
    fake.rule("containers-anywhere-out", "containers", None, ingress=False, cidr=ANYWHERE)
    assert not {source for source, target in pairs(fake) if target == "internet"} & PRIVATE_ENDPOINTS


def test_traffic_through_the_nat_instance_needs_its_rules_too():
    fake = good_stack().drop("web-allow-vpc-to-nat-instance-all-in")
    fake.rule("nat-443-from-vpc", "nat-instance", 443, ingress=True, cidr=VPC_CIDR)
    assert pairs(fake)[("container-instances", "internet")] == ("443",)
    fake.drop("nat-443-from-vpc").rule("nat-from-public", "nat-instance", None, ingress=True, cidr="10.0.192.0/19")
    assert ("container-instances", "internet") not in pairs(fake)


def test_a_nat_without_a_way_out_gives_no_way_out():
    fake = good_stack().drop("web-allow-nat-instance-to-internet-all-out")
    assert not {source for source, target in pairs(fake) if target == "internet"} & {"container-instances"}


def test_a_default_route_to_an_igw_without_a_public_address_goes_nowhere():
    fake = good_stack().drop("web-app-1-default-route", "web-app-2-default-route")
    for name in APP_SUBNETS:
        fake.add(
            "aws:ec2/route:Route",
            f"{name}-to-igw",
            routeTableId=fake.id(f"web-{name}-rt"),
            destinationCidrBlock=ANYWHERE,
            gatewayId=fake.id("web-igw"),
        )
    assert ("container-instances", "internet") not in pairs(fake)


# --- ports and table -------------------------------------------------------------------------------------------------


def test_port_labels_sort_numerically_and_merge():
    ranges = [PortRange("tcp", 5432, 5432), PortRange("tcp", 80, 80), PortRange("tcp", 443, 443)]
    assert port_labels(ranges) == ("80", "443", "5432")
    assert port_labels([PortRange("tcp", 8000, 8050), PortRange("tcp", 8040, 8100)]) == ("8000-8100",)
    assert port_labels([PortRange("udp", 53, 53), PortRange("tcp", 53, 53)]) == ("53", "udp:53")
    assert port_labels([PortRange("tcp", 80, 80), PortRange("all")]) == ("all",)


@pytest.mark.parametrize(
    ("label", "port", "covered"), [("all", 22, True), ("22", 22, True), ("0-1024", 22, True), ("443", 22, False)]
)
def test_label_covers(label, port, covered):
    assert label_covers(label, port) is covered


@pytest.mark.parametrize(
    ("ports", "covered"),
    [
        (PortRange("all"), True),
        (PortRange("tcp", 22, 22), True),
        (PortRange("tcp", 0, 1024), True),
        (PortRange("tcp", 443, 443), False),
        (PortRange("udp", 22, 22), False),
        (PortRange("icmp"), False),
    ],
)
def test_port_range_covers_a_tcp_port(ports, covered):
    assert ports.covers(22) is covered


def test_table_fits_80_columns():
    fake = good_stack()
    for number in range(12):
        fake.rule(f"admin-{number}", "bastion", 22, ingress=True, cidr=f"198.51.100.{number}/32")
    table = format_table(find_edges(fake.resources))
    lines = table.splitlines()
    assert lines[0].split() == ["from", "→", "to", ":", "ports"]
    assert "internet            → load-balancer       : 80, 443 from 0.0.0.0/0" in lines
    assert max(len(line) for line in lines) <= 80


# --- the real stack, as tiers are added ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [{}, ISOLATED], ids=["nat", "isolated"])
def test_real_stack_keeps_the_internet_off_the_private_tiers(build, args):
    found = pairs(build(args).resources)
    assert ("internet", "nat-instance") not in found  # its group admits the VPC CIDR only
    assert not {target for source, target in found if source == "internet"} & (PRIVATE_ENDPOINTS | {"nat-instance"})


def test_real_nat_stack_reaches_out_through_the_nat_instance(build):
    found = pairs(build().resources)
    assert found[("nat-instance", "internet")] == ("all",)
    assert found.get(("container-instances", "internet"), ("all",)) == ("all",)


def test_real_isolated_stack_has_no_way_out(build):
    found = pairs(build(ISOLATED).resources)
    assert not {source for source, target in found if target == "internet"} & PRIVATE_ENDPOINTS


def test_real_stack_with_the_nat_group_opened_to_the_world(build):
    stack = build()
    fake = Fake(stack.resources)
    fake.open_to_the_world("broken-nat-from-anywhere", stack.named("web-nat-instance-sg").id)
    assert pairs(fake)[("internet", "nat-instance")] == ("all",)


def test_an_api_with_its_execute_api_endpoint_off_is_reachable_only_through_a_custom_domain(build):
    with_domain = build({"front_end": "api-gateway", "domain_name": "app.example.com"}).resources
    assert pairs(with_domain)[("internet", "api-gateway (vpc link)")] == ("443",)
    without_domain = [
        resource
        for resource in with_domain
        if resource.type not in ("aws:apigatewayv2/domainName:DomainName", "aws:apigatewayv2/apiMapping:ApiMapping")
    ]
    assert ("internet", "api-gateway (vpc link)") not in pairs(without_domain)


def test_routes_to_the_static_interface_lead_through_the_nat(build):
    from tinystack_component.plan.reachability import routes_by_table

    stack = build()
    tables = routes_by_table(stack.resources)
    (route,) = tables[stack.named("web-app-1-rt").id]
    assert route.target == stack.named("web-nat-eni").id
    found = pairs_of(stack.resources)
    assert found[("container-instances", "internet")] == ("all",)
    # Without the Elastic IP on the interface, the NAT has no public address: no egress.
    without_eip = [r for r in stack.resources if r.name != "web-nat-eip"]
    assert ("container-instances", "internet") not in pairs_of(without_eip)


def pairs_of(resources):
    return {(edge.source, edge.target): edge.ports for edge in find_edges(resources)}
