"""The VPC tier: subnets per AZ, CIDR plan, routing, default SG, S3 endpoint, flow logs."""

import ipaddress
import json

import pytest

from tests.conftest import BASTION, T
from tinystack_component import TinyStackArgsError
from tinystack_component.network import plan_subnets

ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}


def test_vpc_has_dns(build):
    vpc = build().named("web-vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True


@pytest.mark.parametrize("nat", [True, False])
def test_one_subnet_per_zone_per_tier(build, nat):
    stack = build({"nat": nat} if nat else ISOLATED)
    subnets = stack.of_type(T.SUBNET)
    for tier in ("public", "app"):
        tier_subnets = [s for s in subnets if s.name.startswith(f"web-{tier}-")]
        assert sorted(s.inputs["availabilityZone"] for s in tier_subnets) == ["us-east-1a", "us-east-1b", "us-east-1c"]
        assert all(s.inputs["vpcId"] == stack.named("web-vpc").id for s in tier_subnets)
    assert len(subnets) == 6


def test_subnets_never_auto_assign_public_ips(build):
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in build().of_type(T.SUBNET))


@pytest.mark.parametrize("vpc_cidr", ["10.0.0.0/16", "172.20.0.0/20", "192.168.7.0/24"])
@pytest.mark.parametrize("zone_count", [2, 3])
def test_cidr_plan_inside_vpc_and_disjoint(vpc_cidr, zone_count):
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")[:zone_count]
    slots = plan_subnets(vpc_cidr, zones)
    networks = [ipaddress.ip_network(c) for slot in slots for c in (slot.public_cidr, slot.app_cidr)]
    vpc = ipaddress.ip_network(vpc_cidr)
    assert all(network.subnet_of(vpc) for network in networks)
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(network.prefixlen <= 28 for network in networks), "AWS subnets are /28 at the smallest"


def test_cidr_plan_is_fixed_per_zone_index():
    three = plan_subnets("10.0.0.0/16", ("us-east-1a", "us-east-1b", "us-east-1c"))
    assert [(s.public_cidr, s.app_cidr) for s in three] == [
        ("10.0.192.0/20", "10.0.0.0/18"),
        ("10.0.208.0/20", "10.0.64.0/18"),
        ("10.0.224.0/20", "10.0.128.0/18"),
    ]
    assert plan_subnets("10.0.0.0/16", ("us-east-1a", "us-east-1b")) == three[:2]


def _layout(stack):
    names = (T.VPC, T.SUBNET, T.ROUTE_TABLE, T.ROUTE_TABLE_ASSOCIATION, T.IGW, T.DEFAULT_SG)
    return {(r.type, r.name): r.inputs for r in stack.resources if r.type in names}


def test_nat_toggle_keeps_vpc_subnets_and_route_tables(build):
    with_nat = _layout(build())
    isolated = _layout(build(ISOLATED))
    assert with_nat == isolated
    assert sum(1 for typ, _ in with_nat if typ == T.SUBNET) == 6


def test_public_route_table_goes_to_the_internet_gateway(build):
    stack = build()
    route = stack.named("web-public-default-route")
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert route.inputs["gatewayId"] == stack.named("web-igw").id
    assert route.inputs["routeTableId"] == stack.named("web-public-rt").id
    associated = {
        a.inputs["subnetId"]
        for a in stack.of_type(T.ROUTE_TABLE_ASSOCIATION)
        if a.inputs["routeTableId"] == stack.named("web-public-rt").id
    }
    assert associated == {stack.named(f"web-public-{i}").id for i in (1, 2, 3)}


def test_each_app_subnet_has_its_own_route_table(build):
    stack = build()
    for number in (1, 2, 3):
        association = stack.named(f"web-app-{number}-rta")
        assert association.inputs["subnetId"] == stack.named(f"web-app-{number}").id
        assert association.inputs["routeTableId"] == stack.named(f"web-app-{number}-rt").id


def test_isolated_app_route_tables_have_no_routes(build):
    stack = build(ISOLATED)
    app_tables = {stack.named(f"web-app-{n}-rt").id for n in (1, 2, 3)}
    assert [r for r in stack.of_type(T.ROUTE) if r.inputs["routeTableId"] in app_tables] == []
    assert all("route" not in t.inputs or not t.inputs["route"] for t in stack.of_type(T.ROUTE_TABLE))


def test_default_security_group_is_adopted_with_no_rules(build):
    stack = build()
    default = stack.named("web-default-sg")
    assert default.type == T.DEFAULT_SG
    assert default.inputs["vpcId"] == stack.named("web-vpc").id
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


@pytest.mark.parametrize("nat", [True, False])
def test_s3_gateway_endpoint_on_the_app_route_tables(build, nat):
    stack = build({} if nat else ISOLATED)
    endpoint = stack.named("web-s3-endpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert sorted(endpoint.inputs["routeTableIds"]) == sorted(stack.named(f"web-app-{n}-rt").id for n in (1, 2, 3))


def test_flow_logs_reject_traffic_with_least_privilege(build):
    stack = build()
    flow_log = stack.named("web-flow-log")
    log_group = stack.named("web-flow-logs")
    role = stack.named("web-flow-logs-role")
    assert flow_log.inputs["trafficType"] == "REJECT"
    assert flow_log.inputs["vpcId"] == stack.named("web-vpc").id
    assert flow_log.inputs["logDestination"].endswith(":web-flow-logs")
    assert flow_log.inputs["iamRoleArn"].endswith(":web-flow-logs-role")
    assert 0 < log_group.inputs["retentionInDays"] <= 365
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    policy = json.loads(stack.named("web-flow-logs-policy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert "*" not in statement["Resource"]
    assert all(resource.startswith("arn:aws:logs:") for resource in statement["Resource"])
    assert set(statement["Action"]) <= {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}


def test_flow_logs_can_be_turned_off(build):
    stack = build({"flow_logs": False})
    assert stack.of_type(T.FLOW_LOG) == [] and stack.maybe("web-flow-logs") is None


def test_default_zones_come_from_the_parented_invoke(build):
    build.mocks.zone_names = ["us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e"]
    stack = build()
    zones = sorted(s.inputs["availabilityZone"] for s in stack.of_type(T.SUBNET) if s.name.startswith("web-app-"))
    assert zones == ["us-east-1b", "us-east-1c", "us-east-1d"]
    (lookup,) = [i for i in stack.invokes if i.token.endswith("getAvailabilityZones")]
    assert lookup.args["state"] == "available"


def test_given_zones_skip_the_lookup(build):
    stack = build({"availability_zones": ["us-east-1d", "us-east-1f"]})
    assert (
        sorted(s.inputs["availabilityZone"] for s in stack.of_type(T.SUBNET)) == ["us-east-1d"] * 2 + ["us-east-1f"] * 2
    )
    assert not [i for i in stack.invokes if i.token.endswith("getAvailabilityZones")]


def test_a_region_with_one_zone_fails_before_any_resource(build):
    build.mocks.zone_names = ["us-east-1a"]
    with pytest.raises(TinyStackArgsError, match="fewer than 2") as caught:
        build()
    assert caught.value.field == "availability_zones"


def test_zones_of_another_region_are_refused(build):
    with pytest.raises(TinyStackArgsError, match="us-east-1"):
        build({"availability_zones": ["eu-west-1a", "eu-west-1b"]})


# us-east-1e (use1-az3) offers neither t4g.nano (the NAT's default) nor t3.small (the instances' default).
def test_a_given_zone_lacking_an_instance_type_fails_naming_the_zone_and_the_types(build):
    with pytest.raises(TinyStackArgsError) as caught:
        build({"availability_zones": ["us-east-1a", "us-east-1e"]})
    error = caught.value
    assert error.field == "availability_zones"
    assert "us-east-1e" in str(error) and "t4g.nano" in str(error) and "t3.small" in str(error)
    assert "nat_instance_type" in str(error) and "instance_type" in str(error)
    assert "us-east-1a does not" not in str(error)


def test_the_bastions_type_is_checked_too(build):
    args = {"availability_zones": ["us-east-1a", "us-east-1e"], "nat_instance_type": "t2.micro"}
    args |= {"instance_type": "m5.large", "bastion": {**BASTION, "instance_type": "t4g.micro"}}
    with pytest.raises(TinyStackArgsError, match=r"us-east-1e does not offer t4g\.micro \(bastion\.instance_type\)"):
        build(args)


def test_default_zones_are_those_that_offer_every_type_of_the_stack(build):
    build.mocks.zone_names = ["us-east-1a", "us-east-1b", "us-east-1e", "us-east-1f"]
    stack = build()
    zones = sorted(s.inputs["availabilityZone"] for s in stack.of_type(T.SUBNET) if s.name.startswith("web-app-"))
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1f"]


def test_offerings_are_one_parented_lookup_of_every_type(build):
    stack = build({"bastion": {**BASTION, "instance_type": "t3.micro"}})
    (lookup,) = [i for i in stack.invokes if i.token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"]
    assert lookup.args["locationType"] == "availability-zone"
    (instance_types,) = lookup.args["filters"]
    assert instance_types["name"] == "instance-type"
    assert sorted(instance_types["values"]) == ["t3.micro", "t3.small", "t4g.nano"]


def test_default_zones_are_chosen_on_every_type_the_stack_may_launch(build):
    # Isolated and without a bastion, the NAT and bastion types still choose the zones: adding them moves none.
    stack = build(ISOLATED)
    (lookup,) = [i for i in stack.invokes if i.token.endswith("getInstanceTypeOfferings")]
    assert sorted(lookup.args["filters"][0]["values"]) == ["t3.small", "t4g.nano"]


def test_given_zones_are_checked_only_against_the_types_launched(build):
    stack = build({**ISOLATED, "availability_zones": ["us-east-1a", "us-east-1b"]})
    (lookup,) = [i for i in stack.invokes if i.token.endswith("getInstanceTypeOfferings")]
    assert lookup.args["filters"][0]["values"] == ["t3.small"]


def test_too_few_zones_offering_the_types_fails_naming_the_type(build):
    build.mocks.zone_names = ["us-east-1a", "us-east-1e"]
    with pytest.raises(TinyStackArgsError, match="us-east-1a") as caught:
        build()
    assert caught.value.field == "availability_zones"
    assert "us-east-1e" in str(caught.value)
