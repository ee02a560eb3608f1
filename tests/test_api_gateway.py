"""Front end `api-gateway`: HTTP API → VPC link → Cloud Map SRV records → tasks."""

import json

import pytest

from tests.conftest import API_GATEWAY, ISOLATED, T


@pytest.fixture(params=[API_GATEWAY, {**API_GATEWAY, **ISOLATED}], ids=["nat", "isolated"])
def api(build, request):
    return build({**request.param, "container_port": 8080})


def test_cloud_map_namespace_and_srv_service(api):
    namespace = api.named("web-namespace")
    assert namespace.inputs["vpc"] == api.named("web-vpc").id
    discovery = api.named("web-discovery")
    assert discovery.inputs["dnsConfig"]["namespaceId"] == namespace.id
    assert [record["type"] for record in discovery.inputs["dnsConfig"]["dnsRecords"]] == ["SRV"]


def test_vpc_link_sits_in_the_app_subnets_behind_its_group(api):
    link = api.named("web-vpc-link")
    assert sorted(link.inputs["subnetIds"]) == sorted(api.output("private_subnet_ids"))
    assert link.inputs["securityGroupIds"] == [api.named("web-vpc-link-sg").id]


def test_integration_proxies_everything_to_cloud_map_over_the_vpc_link(api):
    integration = api.named("web-integration")
    assert integration.inputs["apiId"] == api.named("web-api").id
    assert integration.inputs["integrationType"] == "HTTP_PROXY"
    assert integration.inputs["integrationMethod"] == "ANY"
    assert integration.inputs["connectionType"] == "VPC_LINK"
    assert integration.inputs["connectionId"] == api.named("web-vpc-link").id
    assert integration.inputs["integrationUri"] == api.named("web-discovery").outputs["arn"]
    route = api.named("web-default-route")
    assert route.inputs["routeKey"] == "$default"
    assert route.inputs["target"] == f"integrations/{integration.id}"


def test_default_stage_auto_deploys_with_access_logs_and_throttling(api):
    stage = api.named("web-default-stage")
    assert (stage.inputs["name"], stage.inputs["autoDeploy"]) == ("$default", True)
    assert stage.inputs["accessLogSettings"]["destinationArn"] == api.named("web-api-access-logs").outputs["arn"]
    assert "$context.requestId" in json.loads(stage.inputs["accessLogSettings"]["format"]).values()
    throttling = stage.inputs["defaultRouteSettings"]
    assert throttling["throttlingBurstLimit"] > 0 and throttling["throttlingRateLimit"] > 0


def test_http_api_and_no_load_balancer(api):
    assert api.named("web-api").inputs["protocolType"] == "HTTP"
    assert api.of_type(T.LOAD_BALANCER) == [] and api.of_type(T.TARGET_GROUP) == []
    assert api.output("url") == api.named("web-api").outputs["apiEndpoint"]
    assert api.output("url").startswith("https://")
    assert api.output("api_endpoint") == api.output("url")
    assert api.output("load_balancer_dns_name") is None
