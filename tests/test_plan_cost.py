"""The monthly estimate: arithmetic on hand-built resources, the NAT gateway alternative, and the price table."""

import datetime

import pytest

from tinystack_component.plan import topology as t
from tinystack_component.plan.cost import estimate, load_prices

from .plan_fixtures import alb, containers, database, nat_instance, network, res

# Round numbers, so every expected value below is plain arithmetic.
PRICES = {
    "price_date": "2000-01-01",
    "region": "us-east-1",
    "hours_per_month": 100,
    "ec2_instance_hour": {"t4g.nano": 0.01, "t3.small": 0.02},
    "ebs_gp3_gb_month": 0.1,
    "public_ipv4_hour": 0.005,
    "alb_hour": 0.02,
    "alb_lcu_hour": 0.01,
    "interface_endpoint_az_hour": 0.01,
    "interface_endpoint_gb": 0.01,
    "cross_az_gb_each_way": 0.02,
    "nat_gateway_hour": 0.04,
    "nat_gateway_gb": 0.045,
    "rds_instance_hour": {"db.t4g.micro": 0.02},
    "rds_gp3_gb_month": 0.1,
    "logs_ingest_gb": 0.5,
    "logs_storage_gb_month": 0.1,
    "http_api_million_requests": 1.0,
    "waf_million_requests": 0.6,
    "monthly": {"waf_web_acl": 5.0, "waf_rule": 1.0, "kms_key": 1.0},
}


def items(resources, prices=None):
    return dict(estimate(resources, prices or PRICES).items)


def test_nat_instance_is_its_hours_root_volume_and_one_address():
    found = items(network() + nat_instance())
    assert found == {
        "NAT instance web-nat-instance (t4g.nano)": pytest.approx(1.0),
        "EBS gp3 volumes (8 GB)": pytest.approx(0.8),
        # The EIP replaces the launch address: one address, not two.
        "Public IPv4 addresses (1)": pytest.approx(0.5),
    }


def test_container_instances_are_desired_capacity_times_the_template_type_with_their_volumes():
    found = items(network() + containers(count=3))
    assert found["ECS container instances web-asg (3 x t3.small)"] == pytest.approx(6.0)
    assert found["EBS gp3 volumes (90 GB)"] == pytest.approx(9.0)


def test_a_group_naming_its_template_in_a_mixed_instances_policy_is_priced_the_same():
    template, group = containers(count=3)
    template.outputs["name"] = "web-container-instances-x"
    del group.inputs["launchTemplate"]
    spec = {"launchTemplateSpecification": {"launchTemplateName": "web-container-instances-x"}}
    group.inputs["mixedInstancesPolicy"] = {"launchTemplate": spec}
    assert items([template, group]) == items(containers(count=3))


def test_a_template_without_a_volume_size_counts_the_ecs_ami_root_volume():
    template, group = containers(count=2)
    template.inputs["blockDeviceMappings"] = []
    assert items([template, group])["EBS gp3 volumes (60 GB)"] == pytest.approx(6.0)


def test_internet_facing_alb_is_hours_one_lcu_and_an_address_per_subnet():
    found = items(network() + alb(zones=3))
    assert found["Application Load Balancer web-alb (hours + 1 LCU)"] == pytest.approx(3.0)
    assert found["Public IPv4 addresses (3)"] == pytest.approx(1.5)


def test_an_alb_declared_through_the_aws_alb_module_is_priced_the_same():
    (balancer,) = alb(zones=3)
    balancer.type = "aws:alb/loadBalancer:LoadBalancer"
    assert items([*network(), balancer]) == items(network() + alb(zones=3))


def test_internal_alb_has_no_public_addresses():
    (balancer,) = alb()
    balancer.inputs["internal"] = True
    assert not [name for name in items([balancer]) if name.startswith("Public IPv4")]


def test_interface_endpoints_are_billed_per_endpoint_per_az_with_the_saving_against_ten_in_three():
    endpoints = [
        res(
            t.VPC_ENDPOINT,
            f"web-{service}-endpoint",
            vpcEndpointType="Interface",
            serviceName=f"com.amazonaws.us-east-1.{service}",
            subnetIds=subnets,
        )
        for service, subnets in (("ecs", ["a", "b", "c"]), ("ecr.dkr", ["a"]), ("logs", ["a", "b"]))
    ]
    gateway = res(t.VPC_ENDPOINT, "web-s3-endpoint", vpcEndpointType="Gateway", routeTableIds=["rt"])
    cost = estimate([*endpoints, gateway], PRICES)
    assert dict(cost.items) == {
        "VPC interface endpoint ecs (3 AZs)": pytest.approx(3.0),
        "VPC interface endpoint ecr.dkr (1 AZ)": pytest.approx(1.0),
        "VPC interface endpoint logs (2 AZs)": pytest.approx(2.0),
    }
    assert cost.endpoints_usd == pytest.approx(6.0)
    assert cost.ten_endpoints_in_three_azs_usd == pytest.approx(30.0)


def endpoint(service, subnets):
    return res(
        t.VPC_ENDPOINT,
        f"web-{service}-endpoint",
        vpcEndpointType="Interface",
        serviceName=f"com.amazonaws.us-east-1.{service}",
        subnetIds=subnets,
    )


def cross_az(assumptions):
    return [line for line in assumptions if line.startswith("Cross-AZ traffic")]


def test_endpoints_in_fewer_azs_than_the_app_subnets_state_the_cross_az_traffic():
    endpoints = [endpoint("ecs", ["id:app-1", "id:app-2", "id:app-3"]), endpoint("logs", ["id:app-1"])]
    found = cross_az(estimate(network() + endpoints, PRICES).assumptions)
    assert found == [
        "Cross-AZ traffic: logs in fewer AZs than the 3 of the app subnets; the others reach them across zones at "
        "0.02 USD per GB each way (not included)."
    ]
    every_az = [endpoint("ecs", ["id:app-1", "id:app-2", "id:app-3"])]
    assert cross_az(estimate(network() + every_az, PRICES).assumptions) == []
    # Two AZs of app subnets, endpoints in both: nothing crosses.
    two = [*network(("us-east-1a", "us-east-1b")), endpoint("ecs", ["id:app-1", "id:app-2"])]
    assert cross_az(estimate(two, PRICES).assumptions) == []


@pytest.mark.parametrize(("zones", "crossing"), [(None, False), (3, False), (2, True), (1, True)])
def test_a_recorded_isolated_stack_states_cross_az_traffic_only_with_fewer_endpoint_zones(build, zones, crossing):
    args = ISOLATED_ALB if zones is None else {**ISOLATED_ALB, "endpoint_zones": zones}
    found = cross_az(estimate(build(args).resources).assumptions)
    assert len(found) == crossing
    if crossing:
        assert "ecr.api, ecr.dkr, ecs, ecs-agent, ecs-telemetry, logs in fewer AZs than the 3" in found[0]
        assert "0.01 USD per GB each way" in found[0]


def test_no_interface_endpoints_no_saving_line():
    assert estimate(network() + nat_instance(), PRICES).ten_endpoints_in_three_azs_usd is None


ISOLATED_ALB = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}


@pytest.mark.parametrize(("zones", "per_endpoint", "most"), [(None, 21.90, 132), (1, 7.30, 45)])
def test_an_isolated_alb_stack_without_a_database_meets_the_endpoint_cost_goals(build, zones, per_endpoint, most):
    args = ISOLATED_ALB if zones is None else {**ISOLATED_ALB, "endpoint_zones": zones}
    cost = estimate(build(args).resources)
    endpoint_lines = {name: usd for name, usd in cost.items if name.startswith("VPC interface endpoint")}
    assert len(endpoint_lines) == 6
    assert list(endpoint_lines.values()) == [pytest.approx(per_endpoint)] * 6
    assert cost.endpoints_usd == pytest.approx(6 * per_endpoint) and cost.endpoints_usd <= most
    assert cost.ten_endpoints_in_three_azs_usd == pytest.approx(219.0)


@pytest.mark.parametrize(("multi_az", "copies", "layout"), [(False, 1, "single-AZ"), (True, 2, "Multi-AZ")])
def test_database_is_class_hours_and_storage_doubled_when_multi_az(multi_az, copies, layout):
    found = items(database(multi_az=multi_az, storage=50.0))
    assert found[f"RDS web-database (db.t4g.micro, {layout})"] == pytest.approx(2.0 * copies)
    assert found[f"RDS gp3 storage web-database (50 GB, {layout})"] == pytest.approx(5.0 * copies)


def test_logs_are_a_stated_assumption():
    result = estimate([res(t.LOG_GROUP, "web-flow-logs", retentionInDays=30.0)], PRICES)
    assert dict(result.items) == {"CloudWatch Logs (assumed 5 GB/month)": pytest.approx(3.0)}
    assert any("5 GB" in assumption for assumption in result.assumptions)


def test_http_api_is_a_usage_item_outside_the_total():
    result = estimate([res(t.HTTP_API, "web-api", protocolType="HTTP")], PRICES)
    assert result.items == []
    assert result.total_usd == 0
    assert [(item.name, item.usd, item.unit) for item in result.usage] == [
        ("HTTP API web-api requests", 1.0, "per million requests")
    ]


def test_unknown_instance_type_is_listed_instead_of_crashing():
    result = estimate(network() + nat_instance("x9.huge") + containers(instance_type="z1.odd"), PRICES)
    assert [note.split(":")[0] for note in result.unpriced] == ["web-nat-instance", "web-container-instances"]
    assert not [name for name, _ in result.items if "x9.huge" in name or "z1.odd" in name]


def test_total_is_the_sum_of_the_line_items():
    result = estimate(network() + nat_instance() + containers() + alb() + database(), PRICES)
    assert result.total_usd == pytest.approx(sum(usd for _, usd in result.items))
    assert result.price_date == "2000-01-01"
    assert result.price_region == "us-east-1"


def test_nat_gateway_alternative_swaps_the_nat_instance_for_a_gateway_and_address_per_az():
    stack = network(zones=("us-east-1a", "us-east-1b")) + nat_instance() + containers(zones=2)
    result = estimate(stack, PRICES)
    nat_instance_share = 1.0 + 0.8 + 0.5  # hours, 8 GB root volume, its EIP
    gateways = 2 * (0.04 + 0.005) * 100
    assert result.nat_gateway_alternative_usd == pytest.approx(result.total_usd - nat_instance_share + gateways)


def test_no_nat_gateway_alternative_without_a_nat_instance():
    assert estimate(network() + alb(), PRICES).nat_gateway_alternative_usd is None


def test_dev_like_stack_at_list_prices():
    result = estimate(network() + nat_instance() + containers() + alb())
    assert dict(result.items)["NAT instance web-nat-instance (t4g.nano)"] == pytest.approx(0.0042 * 730, abs=0.01)
    assert result.nat_gateway_alternative_usd - result.total_usd > 90


def test_price_table_shape():
    prices = load_prices()
    datetime.date.fromisoformat(prices["price_date"])
    assert prices["region"] == "us-east-1"
    assert prices["hours_per_month"] == 730
    assert prices["source"]
    ec2_types = {"t4g.nano", "t4g.micro", "t4g.small", "t4g.medium", "t3.nano", "t3.micro", "t3.small", "t3.medium"}
    ec2_types |= {"t3.large", "t3a.small", "m7g.large", "m7i.large", "c7g.large", "m5.large"}
    assert set(prices["ec2_instance_hour"]) == ec2_types
    db_classes = {"db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t3.micro", "db.t3.small", "db.m7g.large"}
    assert set(prices["rds_instance_hour"]) == db_classes
    assert set(PRICES) <= set(prices)
    flat = [value for key, value in prices.items() if isinstance(value, float)]
    hourly = [*prices["ec2_instance_hour"].values(), *prices["rds_instance_hour"].values()]
    assert all(0 < value <= 1 for value in flat + hourly)
    assert set(prices["monthly"]) == {"waf_web_acl", "waf_rule", "kms_key"}
    assert all(0 < value <= 10 for value in prices["monthly"].values())


def test_a_web_acl_is_its_monthly_fee_and_one_per_rule_with_requests_as_usage():
    rules = [{"name": name} for name in ("common", "bad-inputs", "ip-reputation", "rate")]
    result = estimate([res(t.WEB_ACL, "web-waf", rules=rules)], PRICES)
    assert dict(result.items) == {"WAF web ACL web-waf (1 ACL + 4 rules)": pytest.approx(9.0)}
    assert [(item.name, item.usd) for item in result.usage] == [("WAF web ACL web-waf requests", 0.6)]


def test_the_stack_key_is_a_dollar_a_month():
    assert dict(estimate([res(t.KMS_KEY, "web-key")], PRICES).items) == {"KMS customer-managed keys (1)": 1.0}


def test_enhanced_monitoring_is_priced_as_the_logs_it_writes():
    every_minute = estimate([res(t.DB_INSTANCE, "web-database", monitoringInterval=60.0)], PRICES)
    gb = 100 * 3600 / 60 * 1.5 / 1024 / 1024
    (name,) = [name for name, _ in every_minute.items if name.startswith("RDS enhanced monitoring")]
    assert dict(every_minute.items)[name] == pytest.approx(gb * 0.6, abs=0.01)
    off = estimate([res(t.DB_INSTANCE, "web-database", monitoringInterval=0.0)], PRICES)
    assert not [name for name, _ in off.items if "enhanced" in name]


def test_one_self_healing_nat_stays_under_eight_dollars(build):
    from tinystack_component.plan.cost import estimate as estimate_stack

    result = estimate_stack(build().resources)
    items = dict(result.items)
    hours = items["NAT instance web-nat-asg (ASG of 1 x t4g.nano behind web-nat-eni)"]
    root_volume, elastic_ip = 8 * 0.08, 0.005 * 730
    assert hours == pytest.approx(3.07)
    assert hours + root_volume + elastic_ip == pytest.approx(7.36, abs=0.01)
    assert hours + root_volume + elastic_ip <= 8
    (launch_address,) = [item for item in result.usage if "launch-time public IPv4" in item.name]
    assert launch_address.usd == 0.005
    assert result.nat_gateway_alternative_usd > result.total_usd


def test_a_nat_per_az_stays_under_twenty_five_dollars(build):
    from tinystack_component.plan.cost import estimate as estimate_stack

    result = estimate_stack(build({"nat_high_availability": True}).resources)
    items = dict(result.items)
    hours = sum(usd for name, usd in items.items() if name.startswith("NAT instance"))
    assert hours == pytest.approx(3 * 3.07, abs=0.02)
    fixed = hours + 3 * 8 * 0.08 + 3 * 0.005 * 730
    assert fixed == pytest.approx(22.08, abs=0.03) and fixed <= 25
    (cross_az,) = [item for item in result.usage if item.name.startswith("Cross-AZ data")]
    assert cross_az.usd == pytest.approx(0.02) and cross_az.unit.startswith("per GB")


@pytest.mark.parametrize(
    ("args", "kept", "given_back"), [({}, "11.01", "7.36"), ({"nat_high_availability": True}, "33.02", "22.07")]
)
def test_a_launch_address_that_is_never_given_back_is_a_stated_assumption(build, args, kept, given_back):
    from tinystack_component.plan.cost import estimate as estimate_stack

    result = estimate_stack(build(args).resources)
    (assumption,) = [a for a in result.assumptions if "launch-time public IPv4" in a]
    assert "+3.65 a month each" in assumption
    assert f"{kept} instead of {given_back}" in assumption
    assert "usage" in assumption and "give-back fails" in assumption


@pytest.mark.parametrize(("usd", "shown"), [(0.005, "0.005"), (0.02, "0.02"), (0.6, "0.60"), (1234.5, "1,234.50")])
def test_unit_prices_keep_their_digits(usd, shown):
    from tinystack_component.plan.report import _rate

    assert _rate(usd) == shown
