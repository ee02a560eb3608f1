"""Service reachability: what the recorded stack needs from AWS, how its instances reach each service, and the
violation when one is unreachable."""

import copy
import json

import pytest

from tests.conftest import BASTION, ISOLATED
from tests.plan_factory import ENDPOINT_SERVICES, app_container, good_stack
from tinystack_component.plan.reachability import find_edges
from tinystack_component.plan.services import (
    UNREACHABLE,
    VIA_INTERFACE_ENDPOINT,
    VIA_INTERNET_GATEWAY,
    VIA_NAT,
    VIA_S3_GATEWAY,
    format_services,
    service_reachability,
)
from tinystack_component.plan.violations import SERVICES_REACHABLE, find_violations

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def table(resources) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return {row.service: (row.via, row.zones, row.needed_by) for row in service_reachability(resources)}


def unreachable(resources) -> list:
    return [v for v in find_violations(resources, find_edges(resources)) if v.rule == SERVICES_REACHABLE]


# --- real stacks -----------------------------------------------------------------------------------------------------


def test_a_nat_stack_reaches_everything_through_the_nat(build):
    found = table(build({"database": {}}).resources)
    assert found == {
        service: (VIA_NAT, (), ("container-instances",))
        for service in (
            "ecs",
            "ecs-agent",
            "ecs-telemetry",
            "logs",
            "public.ecr.aws",  # the default image: a public registry, on the internet
            "secretsmanager",  # the database credentials
            "ssm",  # the container instances' SSM policy
            "ssmmessages",
        )
    }


def test_an_isolated_stack_reaches_each_service_through_its_endpoint_in_every_az(build):
    found = table(build(ISOLATED).resources)
    endpoint = (VIA_INTERFACE_ENDPOINT, tuple(ZONES), ("container-instances",))
    assert found == {
        **dict.fromkeys(ENDPOINT_SERVICES, endpoint),
        "s3": (VIA_S3_GATEWAY, (), ("container-instances",)),
    }
    assert unreachable(build(ISOLATED).resources) == []


def test_endpoint_zones_1_shows_the_one_az(build):
    found = table(build({**ISOLATED, "endpoint_zones": 1}).resources)
    assert {found[service][1] for service in ENDPOINT_SERVICES} == {("us-east-1a",)}


def test_the_session_manager_bastion_needs_ssm_and_ssmmessages_and_reaches_them(build):
    isolated = table(build({**ISOLATED, "bastion": {}, "database": {}}).resources)
    for service in ("ssm", "ssmmessages"):
        assert isolated[service] == (VIA_INTERFACE_ENDPOINT, tuple(ZONES), ("bastion", "container-instances"))
    assert isolated["secretsmanager"][0] == VIA_INTERFACE_ENDPOINT
    with_nat = table(build({"bastion": {}}).resources)
    assert with_nat["ssm"] == (VIA_NAT, (), ("bastion", "container-instances"))


def test_the_ssh_bastion_reaches_session_manager_through_the_internet_gateway(build):
    rows = service_reachability(build({"bastion": BASTION}).resources)
    assert ("ssm", VIA_INTERNET_GATEWAY, ("bastion",)) in {(r.service, r.via, r.needed_by) for r in rows}
    assert ("ssm", VIA_NAT, ("container-instances",)) in {(r.service, r.via, r.needed_by) for r in rows}


def test_a_removed_endpoint_is_a_violation(build):
    resources = [r for r in build(ISOLATED).resources if r.name != "web-ecr-dkr-endpoint"]
    assert table(resources)["ecr.dkr"] == (UNREACHABLE, (), ("container-instances",))
    (violation,) = unreachable(resources)
    assert violation.resource == "ecr.dkr"
    assert "container-instances need ecr.dkr (image in private ECR)" in violation.detail


def test_a_missing_secretsmanager_endpoint_is_a_violation_when_a_task_reads_a_secret(build):
    stack = build({**ISOLATED, "container_secrets": {"TOKEN": "x"}})
    resources = [r for r in stack.resources if r.name != "web-secretsmanager-endpoint"]
    assert [v.resource for v in unreachable(resources)] == ["secretsmanager"]


def with_image(resources, image):
    """A copy of the resources whose task runs `image` (builds are cached: never change them in place)."""
    copied = copy.deepcopy(resources)
    task = next(r for r in copied if r.name == "web-task")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    task.inputs["containerDefinitions"] = json.dumps([{**container, "image": image}])
    return copied


def test_a_private_image_in_another_region_is_unreachable_in_isolated_mode(build):
    resources = with_image(build(ISOLATED).resources, "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1")
    found = table(resources)
    for service in ("ecr.api", "ecr.dkr", "s3"):
        assert found[f"{service} (eu-west-3)"] == (UNREACHABLE, (), ("container-instances",))
    assert {v.resource for v in unreachable(resources)} == {
        "ecr.api (eu-west-3)",
        "ecr.dkr (eu-west-3)",
        "s3 (eu-west-3)",
    }


def test_a_private_image_in_another_region_goes_through_the_nat(build):
    resources = with_image(build().resources, "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1")
    assert table(resources)["ecr.dkr (eu-west-3)"] == (VIA_NAT, (), ("container-instances",))
    # The layers live in that region's S3, which this region's gateway endpoint does not serve.
    assert table(resources)["s3 (eu-west-3)"] == (VIA_NAT, (), ("container-instances",))


def test_an_endpoint_the_instances_may_not_open_443_to_does_not_count(build):
    resources = [r for r in build(ISOLATED).resources if r.name != "web-allow-containers-to-endpoints-tcp-443-out"]
    assert {row.via for row in service_reachability(resources) if row.service != "s3"} == {UNREACHABLE}


# --- hand-built stacks -----------------------------------------------------------------------------------------------


def test_the_factory_stacks_need_nothing_they_cannot_reach():
    assert unreachable(good_stack().resources) == []
    assert unreachable(good_stack(front_end="api", nat=False).resources) == []


@pytest.mark.parametrize("service", ENDPOINT_SERVICES)
def test_each_planted_missing_endpoint_is_reported(service):
    fake = good_stack(nat=False).drop(f"web-{service.replace('.', '-')}-endpoint")
    assert [v.resource for v in unreachable(fake.resources)] == [service]


def test_without_the_s3_gateway_endpoint_image_layers_are_unreachable():
    fake = good_stack(nat=False).drop("web-s3-endpoint")
    assert [v.resource for v in unreachable(fake.resources)] == ["s3"]


def test_443_to_another_prefix_list_is_not_s3_access():
    """A rule to DynamoDB's (or any other) prefix list does not open the S3 gateway endpoint's."""
    fake = good_stack(nat=False).update("web-allow-containers-to-s3-tcp-443-out", prefixListId="pl-02cd2c6b")
    assert [v.resource for v in unreachable(fake.resources)] == ["s3"]


def test_the_recorded_s3_rule_names_the_gateway_endpoints_own_prefix_list(build):
    stack = build(ISOLATED)
    assert table(stack.resources)["s3"][0] == VIA_S3_GATEWAY
    rule = stack.named("web-allow-containers-to-s3-tcp-443-out")
    planted = [copy.deepcopy(r) if r is rule else r for r in stack.resources]
    next(r for r in planted if r.name == rule.name).inputs["prefixListId"] = "pl-02cd2c6b"
    assert table(planted)["s3"][0] == UNREACHABLE


def test_a_nat_route_to_a_static_network_interface_counts_as_through_the_nat():
    """An ASG NAT behind a static ENI: the route names an interface that no recorded instance owns."""
    fake = good_stack()
    for name in ("web-app-1-default-route", "web-app-2-default-route"):
        fake.update(name, networkInterfaceId="eni-0static000000000")
    fake.drop("web-nat-instance", "web-nat-eip")
    assert {row.via for row in service_reachability(fake.resources)} == {VIA_NAT}
    assert unreachable(fake.resources) == []


def test_without_a_default_route_or_endpoints_everything_is_unreachable():
    fake = good_stack().drop("web-app-1-default-route", "web-app-2-default-route")
    assert {row.via for row in service_reachability(fake.resources)} == {UNREACHABLE}
    assert {v.resource for v in unreachable(fake.resources)} >= {"ecs", "ecs-agent", "logs"}


def test_a_container_from_docker_hub_needs_the_internet():
    fake = good_stack(nat=False)
    fake.update("web-task", containerDefinitions=json.dumps([app_container(image="nginx:stable")]))
    assert table(fake.resources)["docker.io"] == (UNREACHABLE, (), ("container-instances",))


def test_the_text_table_fits_80_columns_and_names_the_zones(build):
    lines = format_services(service_reachability(build({**ISOLATED, "bastion": {}}).resources))
    assert lines[0].split() == ["service", "via", "AZs", "needed", "by"]
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in lines[1:]}
    assert rows["ecr.dkr"] == ["interface-endpoint", "us-east-1 a, b, c  container-instances"]
    ssm = lines.index(next(line for line in lines if line.startswith("ssm ")))
    assert lines[ssm].split()[-1] == "bastion," and lines[ssm + 1].strip() == "container-instances"
    assert max(len(line) for line in lines) <= 78
