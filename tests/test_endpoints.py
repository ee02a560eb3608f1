"""Isolated mode: interface endpoints in the app subnets, named for the provider's region."""

import pytest

from tests.conftest import T
from tinystack_component.egress.endpoints import INTERFACE_ENDPOINT_SERVICES

ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"}


@pytest.fixture
def isolated(build):
    build.mocks.region = "eu-west-1"
    build.mocks.zone_names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    return build(ISOLATED)


def test_every_service_the_instances_need_has_an_interface_endpoint(isolated):
    interface = [e for e in isolated.of_type(T.ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    services = sorted(e.inputs["serviceName"] for e in interface)
    expected = ["ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"]
    expected += ["ssmmessages", "ec2messages"]
    assert services == sorted(f"com.amazonaws.eu-west-1.{name}" for name in expected)
    assert set(INTERFACE_ENDPOINT_SERVICES) == set(expected)


def test_endpoints_sit_in_the_app_subnets_behind_their_group(isolated):
    app_subnets = sorted(isolated.named(f"web-app-{n}").id for n in (1, 2, 3))
    group = isolated.named("web-endpoints-sg").id
    for endpoint in isolated.of_type(T.ENDPOINT):
        if endpoint.inputs["vpcEndpointType"] == "Interface":
            assert endpoint.inputs["privateDnsEnabled"] is True
            assert sorted(endpoint.inputs["subnetIds"]) == app_subnets
            assert endpoint.inputs["securityGroupIds"] == [group]
            assert endpoint.inputs["vpcId"] == isolated.named("web-vpc").id


def test_endpoint_group_admits_https_from_the_vpc_only(isolated):
    (rule,) = isolated.ingress_to("web-endpoints-sg")
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"


def test_s3_gateway_endpoint_uses_the_region(isolated):
    assert isolated.named("web-s3-endpoint").inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"


def test_nat_mode_has_no_interface_endpoints(build):
    assert [e.name for e in build().of_type(T.ENDPOINT)] == ["web-s3-endpoint"]
