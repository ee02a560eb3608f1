"""Front end `alb`: placement, hardening, target group, listeners and the HTTPS redirect."""

import itertools
import json

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


def test_the_alb_waits_for_the_internet_gateway_and_the_public_default_route(build):
    # AWS refuses an internet-facing ALB in a VPC whose gateway is not attached yet (InvalidSubnet).
    stack = build()
    dependencies = stack.named("web-alb").options["dependencies"]
    assert stack.named("web-igw").urn in dependencies
    assert stack.named("web-public-default-route").urn in dependencies


def _bucket_policy(stack):
    return json.loads(stack.named("web-alb-logs-policy").inputs["policy"])


def test_access_logs_go_to_a_private_tls_only_expiring_bucket_of_the_stack(build):
    stack = build()
    bucket = stack.named("web-alb-logs")
    alb = stack.named("web-alb")
    assert alb.inputs["accessLogs"] == {"bucket": bucket.id, "prefix": "alb", "enabled": True}
    block = stack.named("web-alb-logs-public-access-block").inputs
    assert block["bucket"] == bucket.id
    assert all(block[key] is True for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    (rule,) = stack.named("web-alb-logs-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (expiry,) = stack.named("web-alb-logs-expiry").inputs["rules"]
    assert expiry["status"] == "Enabled" and 0 < expiry["expiration"]["days"] <= 365
    deliver, tls_only = _bucket_policy(stack)["Statement"]
    assert deliver["Resource"] == f"{bucket.outputs['arn']}/alb/AWSLogs/123456789012/*"
    assert deliver["Action"] == "s3:PutObject"
    # One look-up of the account (tests/test_tinystack.py checks that every invoke goes to the component's provider).
    assert len([i for i in stack.invokes if i.token == "aws:index/getCallerIdentity:getCallerIdentity"]) == 1
    assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # ELB checks that it may write the bucket when logging is turned on.
    assert stack.named("web-alb-logs-policy").urn in alb.options["dependencies"]


def test_log_delivery_is_the_regional_elb_account_in_older_regions(build):
    deliver, _ = _bucket_policy(build())["Statement"]
    assert deliver["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    (lookup,) = [i for i in build.mocks.invokes if i.token == "aws:elb/getServiceAccount:getServiceAccount"]
    assert lookup.args["region"] == "us-east-1"


def test_log_delivery_is_the_service_principal_in_regions_opened_since_august_2022(build):
    build.mocks.region = "eu-south-2"
    build.mocks.zone_names = ["eu-south-2a", "eu-south-2b", "eu-south-2c"]
    stack = build()
    deliver, _ = _bucket_policy(stack)["Statement"]
    assert deliver["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert not [i for i in stack.invokes if i.token.endswith("getServiceAccount")]


def test_deletion_protection_guards_the_alb_and_keeps_the_logs_until_it_is_turned_off(build):
    protected = build()
    assert protected.named("web-alb").inputs["enableDeletionProtection"] is True
    assert protected.named("web-alb-logs").inputs["forceDestroy"] is False
    dev = build({"database": {}, "deletion_protection": False})
    assert dev.named("web-alb").inputs["enableDeletionProtection"] is False
    assert dev.named("web-alb-logs").inputs["forceDestroy"] is True


LOG_BUCKET_PARTS = (
    "web-alb-logs",
    "web-alb-logs-public-access-block",
    "web-alb-logs-ownership",
    "web-alb-logs-encryption",
    "web-alb-logs-expiry",
    "web-alb-logs-policy",
)


def test_a_protected_stack_leaves_the_log_bucket_behind_instead_of_failing_on_its_logs(build):
    # S3 refuses to delete a bucket that holds logs (BucketNotEmpty) unless force_destroy empties it first.
    protected, dev = build(), build({"database": {}, "deletion_protection": False})
    for name in LOG_BUCKET_PARTS:
        assert protected.named(name).options["retain_on_delete"] is True, name
        assert dev.named(name).options["retain_on_delete"] is False, name


def test_the_log_bucket_settings_change_one_at_a_time_before_the_alb_logs_to_it(build):
    # S3 answers 409 OperationAborted to concurrent changes of one bucket (pulumi-aws #1570).
    stack = build()
    chain = [stack.named(name) for name in LOG_BUCKET_PARTS[1:]]
    for previous, resource in itertools.pairwise(chain):
        assert previous.urn in resource.options["dependencies"], resource.name
    dependencies = stack.named("web-alb").options["dependencies"]
    assert stack.named("web-alb-logs-encryption").urn in dependencies
    assert stack.named("web-alb-logs-policy").urn in dependencies


def test_access_logs_can_be_turned_off(build):
    stack = build({"alb_access_logs": False})
    assert "accessLogs" not in stack.named("web-alb").inputs and stack.maybe("web-alb-logs") is None


def test_the_waf_puts_managed_rules_and_a_rate_limit_in_front_of_the_alb(build):
    assert build().maybe("web-waf") is None
    stack = build({"waf": True})
    acl = stack.named("web-waf").inputs
    assert acl["scope"] == "REGIONAL" and acl["defaultAction"] == {"allow": {}}
    groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in acl["rules"] if "overrideAction" in r]
    assert groups == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    (rate,) = [r for r in acl["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["action"] == {"block": {}} and rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert len({r["priority"] for r in acl["rules"]}) == len(acl["rules"])
    association = stack.named("web-waf-association").inputs
    assert association["resourceArn"] == stack.named("web-alb").outputs["arn"]
    assert association["webAclArn"] == stack.named("web-waf").outputs["arn"]
