"""Front end `alb`: placement, hardening, target group, listeners and the HTTPS redirect."""

from tests.conftest import CERTIFICATE, ISOLATED, T


def test_alb_is_internet_facing_in_the_public_subnets_and_hardened(build):
    stack = build()
    alb = stack.named("web-alb")
    assert alb.inputs["internal"] is False and alb.inputs["loadBalancerType"] == "application"
    assert sorted(alb.inputs["subnets"]) == sorted(stack.output("public_subnet_ids"))
    assert alb.inputs["securityGroups"] == [stack.named("web-alb-sg").id]
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["desyncMitigationMode"] == "defensive"


def test_target_group_checks_the_health_path_on_the_container_port(build):
    stack = build({"container_port": 8080, "health_check_path": "/healthz"})
    group = stack.named("web-targets")
    assert (group.inputs["targetType"], group.inputs["port"], group.inputs["protocol"]) == ("instance", 8080, "HTTP")
    assert group.inputs["healthCheck"]["path"] == "/healthz"
    assert group.inputs["vpcId"] == stack.named("web-vpc").id


def test_http_listener_forwards_without_a_certificate(build):
    stack = build()
    (listener,) = stack.of_type(T.LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (80, "HTTP")
    assert listener.inputs["loadBalancerArn"] == stack.named("web-alb").outputs["arn"]
    assert listener.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": stack.named("web-targets").outputs["arn"]}
    ]
    assert stack.output("url") == f"http://{stack.named('web-alb').outputs['dnsName']}"


def test_with_a_certificate_http_redirects_and_https_forwards_on_tls13(build):
    stack = build({"certificate_arn": CERTIFICATE})
    http, https = stack.named("web-listener-80"), stack.named("web-listener-443")
    assert http.inputs["defaultActions"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}
    ]
    assert (https.inputs["port"], https.inputs["protocol"]) == (443, "HTTPS")
    assert https.inputs["certificateArn"] == CERTIFICATE
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https.inputs["defaultActions"][0]["targetGroupArn"] == stack.named("web-targets").outputs["arn"]
    assert stack.output("url").startswith("https://")
    assert stack.named("web-listener-443").urn in stack.named("web-service").options["dependencies"]


def test_alb_outputs(build):
    stack = build(ISOLATED)
    assert stack.output("load_balancer_dns_name") == stack.named("web-alb").outputs["dnsName"]
    assert stack.output("api_endpoint") is None


def test_no_api_gateway_in_alb_mode(build):
    stack = build()
    assert stack.of_type(T.HTTP_API) == [] and stack.of_type(T.VPC_LINK) == []
