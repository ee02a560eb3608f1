"""Your own domain: zone look-up, ACM certificate with DNS validation, alias records, for both front ends."""

import pytest

from tests.conftest import API_GATEWAY, CERTIFICATE, ISOLATED, T
from tinystack_component import TinyStack, TinyStackArgsError
from tinystack_component.config import args_from_config, camel
from tinystack_component.plan.recording import (
    ALB_ZONE_IDS,
    API_GATEWAY_ZONE_IDS,
    HOSTED_ZONES,
    MockZone,
    RecordingMocks,
)
from tinystack_component.validation import validate

DOMAIN = {"domain_name": "app.example.com"}
PUBLIC_ZONE, PRIVATE_ZONE = HOSTED_ZONES
CERTIFICATE_TYPE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
API_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
API_MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
GET_ZONE = "aws:route53/getZone:getZone"


@pytest.fixture(params=[{}, API_GATEWAY, ISOLATED], ids=["alb", "api", "alb-isolated"])
def with_domain(build, request):
    return build({**request.param, **DOMAIN})


def test_certificate_is_dns_validated_for_the_name(with_domain):
    certificate = with_domain.named("web-certificate")
    assert certificate.inputs["domainName"] == "app.example.com"
    assert certificate.inputs["validationMethod"] == "DNS"
    assert certificate.options["delete_before_replace"] is False


def test_validation_record_comes_from_the_certificates_options(with_domain):
    (option,) = with_domain.named("web-certificate").outputs["domainValidationOptions"]
    record = with_domain.named("web-certificate-validation-record")
    assert record.inputs["zoneId"] == PUBLIC_ZONE.zone_id
    assert record.inputs["name"] == option["resourceRecordName"]
    assert record.inputs["name"].endswith(".app.example.com.") and record.inputs["name"].startswith("_")
    assert record.inputs["type"] == option["resourceRecordType"] == "CNAME"
    assert record.inputs["records"] == [option["resourceRecordValue"]]
    assert option["resourceRecordValue"].endswith(".acm-validations.aws.")


def test_validation_waits_for_the_record_of_the_certificate(with_domain):
    validation = with_domain.named("web-certificate-validation")
    assert validation.inputs["certificateArn"] == with_domain.named("web-certificate").outputs["arn"]
    assert validation.inputs["validationRecordFqdns"] == [
        with_domain.named("web-certificate-validation-record").outputs["fqdn"]
    ]
    assert with_domain.named("web-certificate-validation-record").urn in validation.options["dependencies"]


def test_the_listener_serves_the_validated_certificate_and_http_redirects(build):
    stack = build(DOMAIN)
    validation = stack.named("web-certificate-validation")
    https, http = stack.named("web-listener-443"), stack.named("web-listener-80")
    assert https.inputs["certificateArn"] == validation.outputs["certificateArn"]
    assert validation.urn in https.options["dependencies"]
    assert https.urn in http.options["dependencies"], "HTTP redirects only once HTTPS exists"
    assert (https.inputs["port"], https.inputs["protocol"]) == (443, "HTTPS")
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert http.inputs["defaultActions"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}
    ]
    assert "web-allow-internet-to-alb-tcp-443-in" in {rule.name for rule in stack.ingress_to("web-alb-sg")}


def test_alias_points_at_the_load_balancer_with_target_health(build):
    stack = build(DOMAIN)
    alb = stack.named("web-alb")
    (alias,) = [record for record in stack.of_type(RECORD) if record.inputs.get("aliases")]
    assert alias.name == "web-domain-alias-a"
    assert (alias.inputs["name"], alias.inputs["type"], alias.inputs["zoneId"]) == (
        "app.example.com",
        "A",
        PUBLIC_ZONE.zone_id,
    )
    assert alias.inputs["aliases"] == [
        {"name": alb.outputs["dnsName"], "zoneId": alb.outputs["zoneId"], "evaluateTargetHealth": True}
    ]
    assert alb.outputs["zoneId"] == ALB_ZONE_IDS["us-east-1"]
    assert alb.inputs.get("ipAddressType", "ipv4") == "ipv4", "AAAA records join once the ALB is dual-stack"


def test_api_domain_is_regional_tls12_mapped_to_the_default_stage_and_aliased(build):
    stack = build({**API_GATEWAY, **DOMAIN})
    api_domain = stack.named("web-api-domain")
    assert api_domain.inputs["domainName"] == "app.example.com"
    assert api_domain.inputs["domainNameConfiguration"] == {
        "certificateArn": stack.named("web-certificate-validation").outputs["certificateArn"],
        "endpointType": "REGIONAL",
        "securityPolicy": "TLS_1_2",
    }
    # The same ARN as the certificate's under the mocks: the dependency proves it is the validation's (issued) one.
    assert stack.named("web-certificate-validation").urn in api_domain.options["dependencies"]
    mapping = stack.named("web-api-mapping")
    assert mapping.inputs["apiId"] == stack.named("web-api").id
    assert mapping.inputs["domainName"] == api_domain.outputs["domainName"]
    assert mapping.inputs["stage"] == stack.named("web-default-stage").outputs["name"] == "$default"
    target = api_domain.outputs["domainNameConfiguration"]
    assert target["hostedZoneId"] == API_GATEWAY_ZONE_IDS["us-east-1"]
    assert stack.named("web-domain-alias-a").inputs["aliases"] == [
        {"name": target["targetDomainName"], "zoneId": target["hostedZoneId"], "evaluateTargetHealth": True}
    ]
    assert stack.of_type(T.LOAD_BALANCER) == []


def test_a_custom_domain_disables_the_execute_api_endpoint(build):
    assert build({**API_GATEWAY, **DOMAIN}).named("web-api").inputs["disableExecuteApiEndpoint"] is True
    assert build(API_GATEWAY).named("web-api").inputs["disableExecuteApiEndpoint"] is False


def test_execute_api_is_disabled_only_once_the_domain_and_its_alias_exist(build):
    stack = build({**API_GATEWAY, **DOMAIN})
    api, api_domain, alias = (stack.named(name) for name in ("web-api", "web-api-domain", "web-domain-alias-a"))
    # The in-place update of an existing API waits for the domain, which waits for the certificate's validation.
    assert {api_domain.urn, alias.urn} <= set(api.options["dependencies"])
    assert stack.named("web-certificate-validation").urn in api_domain.options["dependencies"]
    assert api.urn in stack.named("web-api-mapping").options["dependencies"]


@pytest.mark.parametrize("front_end", [{}, API_GATEWAY], ids=["alb", "api"])
def test_outputs(build, front_end):
    stack = build({**front_end, **DOMAIN})
    assert stack.output("url") == "https://app.example.com"
    assert stack.output("domain_name") == "app.example.com"
    assert stack.output("certificate_arn") == stack.named("web-certificate-validation").outputs["certificateArn"]
    assert stack.output("certificate_arn").startswith("arn:aws:acm:us-east-1:123456789012:certificate/")
    without = build(front_end)
    assert without.output("domain_name") is None and without.output("certificate_arn") is None


def test_outputs_with_a_given_certificate_and_no_domain(build):
    stack = build({"certificate_arn": CERTIFICATE})
    assert stack.output("certificate_arn") == CERTIFICATE
    assert stack.output("url") == "https://web-alb-123456.us-east-1.elb.amazonaws.com"


@pytest.mark.parametrize("front_end", [{}, API_GATEWAY], ids=["alb", "api"])
def test_bring_your_own_certificate_with_a_domain(build, front_end):
    stack = build({**front_end, **DOMAIN, "certificate_arn": CERTIFICATE})
    assert stack.of_type(CERTIFICATE_TYPE) == [] and stack.of_type(VALIDATION) == []
    assert [record.name for record in stack.of_type(RECORD)] == ["web-domain-alias-a"]
    served = (
        stack.named("web-listener-443").inputs["certificateArn"]
        if not front_end
        else stack.named("web-api-domain").inputs["domainNameConfiguration"]["certificateArn"]
    )
    assert served == CERTIFICATE == stack.output("certificate_arn")
    assert stack.output("url") == "https://app.example.com"


# --- the zone ------------------------------------------------------------------------------------------------------


def zone_lookups(stack):
    return [invoke for invoke in stack.invokes if invoke.token == GET_ZONE]


def test_zone_is_looked_up_by_parent_domain_public_only(build):
    # The consumer's provider for this look-up: PROVIDER_CASES in test_tinystack.py.
    stack = build(DOMAIN)
    (lookup,) = zone_lookups(stack)
    assert lookup.args == {"name": "example.com", "privateZone": False}
    assert zone_lookups(build()) == []


@pytest.mark.parametrize(
    "hosted_zone, asked",
    [
        (PUBLIC_ZONE.zone_id, {"zoneId": PUBLIC_ZONE.zone_id, "privateZone": False}),
        ("example.com.", {"name": "example.com", "privateZone": False}),
    ],
)
def test_zone_by_id_or_by_name_with_or_without_the_trailing_dot(build, hosted_zone, asked):
    stack = build({**DOMAIN, "hosted_zone": hosted_zone})
    assert zone_lookups(stack)[0].args == asked
    assert stack.named("web-domain-alias-a").inputs["zoneId"] == PUBLIC_ZONE.zone_id


def test_apex_domain_uses_its_own_zone(build):
    stack = build({"domain_name": "example.com"})
    assert zone_lookups(stack)[0].args["name"] == "example.com"
    assert stack.named("web-domain-alias-a").inputs["name"] == "example.com"


def refused_before_any_resource(build, args, accepted, field="hosted_zone"):
    with pytest.raises(TinyStackArgsError) as caught:
        build(args)
    assert_refused(build, caught.value, args, accepted, field)
    return caught.value


def assert_refused(build, error, args, accepted, field):
    # Used from code the error names the field; the program adds the config key (tests/test_main.py).
    assert (error.field, error.config_key) == (field, None), str(error)
    assert accepted in str(error) and f"invalid {field}: got {args[field]!r}" in str(error)
    assert [typ for typ, _ in build.mocks.inputs] == ["tinystack:index:TinyStack"]


PRIVATE_DOMAIN = {"domain_name": "app.internal.example.com"}


@pytest.mark.parametrize(
    "args, field",
    [
        ({**PRIVATE_DOMAIN, "hosted_zone": PRIVATE_ZONE.zone_id}, "hosted_zone"),
        ({**PRIVATE_DOMAIN, "hosted_zone": PRIVATE_ZONE.name}, "hosted_zone"),
        (PRIVATE_DOMAIN, "domain_name"),
    ],
    ids=["by-id", "by-name", "by-parent-domain"],
)
def test_a_private_zone_is_refused_before_any_resource(build, args, field):
    refused_before_any_resource(build, args, "internal.example.com is private", field)
    if "hosted_zone" not in args or args["hosted_zone"] == PRIVATE_ZONE.name:
        # The public look-up finds nothing by that name; the private one tells why.
        assert [lookup.args["privateZone"] for lookup in zone_lookups(build.mocks)] == [False, True]


def test_a_zone_id_whose_zone_does_not_hold_the_name_is_refused(build):
    refused_before_any_resource(
        build, {"domain_name": "app.example.org", "hosted_zone": PUBLIC_ZONE.zone_id}, "holds domain_name"
    )


SECOND_PUBLIC_ZONE = MockZone("Z0EXAMPLE0SECOND0PUBLIC", "example.com")


@pytest.mark.parametrize(
    "zones, args, field, accepted",
    [
        (HOSTED_ZONES, {"domain_name": "app.eu.example.com"}, "domain_name", "named eu.example.com (the parent"),
        (HOSTED_ZONES, {"domain_name": "app.example.org", "hosted_zone": "example.org"}, "hosted_zone", "named"),
        ((*HOSTED_ZONES, SECOND_PUBLIC_ZONE), DOMAIN, "domain_name", "no single one exists"),
        (HOSTED_ZONES, {**DOMAIN, "hosted_zone": "Z0NO0SUCH0ZONE"}, "hosted_zone", "none with id Z0NO0SUCH0ZONE"),
    ],
    ids=["parent-domain-is-not-a-zone", "no-zone-of-that-name", "two-public-zones-of-that-name", "no-zone-of-that-id"],
)
def test_a_missing_or_ambiguous_zone_is_refused_before_any_resource(build, zones, args, field, accepted):
    build.mocks = RecordingMocks(hosted_zones=zones)
    with pytest.raises(TinyStackArgsError) as caught:
        build.program(lambda: TinyStack("web", args))
    assert_refused(build, caught.value, args, accepted, field)
    assert "Route 53 said: " in str(caught.value)
    if field == "domain_name" or not args["hosted_zone"].startswith("Z"):
        assert "set hosted_zone to the id (Z…) of the public zone that holds" in str(caught.value)


# --- validation ----------------------------------------------------------------------------------------------------

BAD = [
    ({"domain_name": "App.Example.com"}, "domain_name", "lower-case DNS name"),
    ({"domain_name": "app.example.com."}, "domain_name", "no trailing dot"),
    ({"domain_name": "localhost"}, "domain_name", "two or more labels"),
    ({"domain_name": "*.example.com"}, "domain_name", "lower-case DNS name"),
    ({"domain_name": "-app.example.com"}, "domain_name", "inner hyphens"),
    ({"domain_name": f"{'a' * 64}.example.com"}, "domain_name", "lower-case DNS name"),
    ({"domain_name": f"{'a' * 60}.example.com"}, "domain_name", "at most 64 characters"),
    ({"domain_name": 42}, "domain_name", "lower-case DNS name"),
    ({"hosted_zone": "example.com"}, "hosted_zone", "with domain_name only"),
    ({**DOMAIN, "hosted_zone": "example.org"}, "hosted_zone", "holds domain_name app.example.com"),
    ({**DOMAIN, "hosted_zone": "not a zone"}, "hosted_zone", "zone id such as Z"),
    ({**DOMAIN, "hosted_zone": "z123abc"}, "hosted_zone", "zone id such as Z"),
    ({**API_GATEWAY, "certificate_arn": CERTIFICATE}, "certificate_arn", "api-gateway with domain_name"),
]


@pytest.mark.parametrize("args, field, accepted", BAD)
def test_every_domain_error_names_the_field_and_the_config_key(args, field, accepted):
    with pytest.raises(TinyStackArgsError) as caught:
        validate(args)
    assert caught.value.field == field and accepted in str(caught.value), str(caught.value)
    config = {f"tinystack:{camel(key)}": value for key, value in args.items() if isinstance(value, str)}
    if len(config) == len(args):
        key = camel(field)
        with pytest.raises(TinyStackArgsError) as from_config:
            args_from_config(config)
        assert from_config.value.config_key == key and f"tinystack:{key}" in str(from_config.value)


def test_valid_domain_settings():
    assert validate(DOMAIN).hosted_zone == "example.com"
    assert validate({"domain_name": "a.b.example.co.uk"}).hosted_zone == "b.example.co.uk"
    assert validate({**DOMAIN, "hosted_zone": "example.com."}).hosted_zone == "example.com"
    assert validate({**DOMAIN, "hosted_zone": "Z0123456789ABCDEFGHIJ"}).hosted_zone == "Z0123456789ABCDEFGHIJ"
    long_name = f"{'a' * 60}.example.com"
    assert validate({"domain_name": long_name, "certificate_arn": CERTIFICATE}).domain_name == long_name
    settings = validate({**API_GATEWAY, **DOMAIN, "certificate_arn": CERTIFICATE})
    assert settings.certificate_arn == CERTIFICATE
    assert validate({}).domain_name is None and validate({}).hosted_zone is None


def test_a_certificate_of_another_region_is_refused_before_any_resource(build):
    foreign = CERTIFICATE.replace("us-east-1", "eu-west-1")
    with pytest.raises(TinyStackArgsError) as caught:
        build({**DOMAIN, "certificate_arn": foreign})
    assert caught.value.field == "certificate_arn" and "region us-east-1" in str(caught.value)
    assert caught.value.config_key is None, "the component knows fields; the program adds the config key"
    assert [typ for typ, _ in build.mocks.inputs] == ["tinystack:index:TinyStack"]
