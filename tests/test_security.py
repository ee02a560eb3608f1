"""Who may talk to whom: every security-group rule, as relationships between groups."""

import re

import pytest

from tests.conftest import BASTION, CERTIFICATE, EVERYTHING, ISOLATED, VARIANTS, T


def test_groups_carry_no_inline_rules(build):
    for group in build().of_type(T.SG):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name


def test_nat_group_admits_all_protocols_from_the_vpc_cidr_only(build):
    stack = build({"vpc_cidr": "10.20.0.0/16"})
    (rule,) = stack.ingress_to("web-nat-instance-sg")
    assert rule.inputs["ipProtocol"] == "-1"
    assert rule.inputs["cidrIpv4"] == "10.20.0.0/16"
    assert "referencedSecurityGroupId" not in rule.inputs
    (egress,) = stack.egress_from("web-nat-instance-sg")
    assert (egress.inputs["ipProtocol"], egress.inputs["cidrIpv4"]) == ("-1", "0.0.0.0/0")


def test_isolated_containers_reach_only_the_endpoints_and_s3(build):
    stack = build(ISOLATED)
    targets = {
        (r.inputs.get("referencedSecurityGroupId") or r.inputs.get("prefixListId"), r.inputs["fromPort"])
        for r in stack.egress_from("web-containers-sg")
        if not r.name.startswith("web-allow-containers-to-database")
    }
    assert targets == {(stack.named("web-endpoints-sg").id, 443), ("pl-63a5400a", 443)}
    assert not [r for r in stack.egress_from("web-containers-sg") if r.inputs.get("cidrIpv4")]


def test_no_rule_opens_anything_but_the_front_end_to_the_internet(build):
    stack = build()
    open_to_world = [r for r in stack.of_type(T.INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert {r.inputs["securityGroupId"] for r in open_to_world} == {stack.named("web-alb-sg").id}
    assert {r.inputs["fromPort"] for r in open_to_world} == {80}


def test_rule_names_say_who_talks_to_whom(build):
    names = {r.name for r in build().rules()}
    assert "web-allow-internet-to-alb-tcp-80-in" in names
    assert "web-allow-vpc-to-nat-instance-all-in" in names
    assert "web-allow-nat-instance-to-internet-all-out" in names


def _peer(rule):
    return rule.inputs.get("referencedSecurityGroupId") or rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6")


def _ports(rule):
    return (rule.inputs["ipProtocol"], rule.inputs.get("fromPort"), rule.inputs.get("toPort"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_containers_admit_only_the_front_end_on_the_container_port(build, variant):
    stack = build({**VARIANTS[variant], "container_port": 8080})
    front_end = "web-alb-sg" if variant.startswith("alb") else "web-vpc-link-sg"
    (rule,) = stack.ingress_to("web-containers-sg")
    assert _peer(rule) == stack.named(front_end).id
    assert _ports(rule) == ("tcp", 8080, 8080)
    (egress,) = stack.egress_from(front_end)
    assert _peer(egress) == stack.named("web-containers-sg").id
    assert _ports(egress) == ("tcp", 8080, 8080)


@pytest.mark.parametrize("variant", ["api-nat", "api-isolated"])
def test_vpc_link_group_has_no_inbound_rules(build, variant):
    stack = build(VARIANTS[variant])
    assert stack.ingress_to("web-vpc-link-sg") == []
    assert stack.maybe("web-alb-sg") is None


def test_alb_admits_only_http_without_a_certificate_and_https_with_one(build):
    plain = build()
    assert sorted(_ports(r) for r in plain.ingress_to("web-alb-sg")) == [("tcp", 80, 80)]
    assert {_peer(r) for r in plain.ingress_to("web-alb-sg")} == {"0.0.0.0/0"}
    tls = build({"certificate_arn": CERTIFICATE})
    assert sorted(_ports(r) for r in tls.ingress_to("web-alb-sg")) == [("tcp", 80, 80), ("tcp", 443, 443)]


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_database_admits_only_the_containers_on_its_port(build, engine):
    stack = build({"database": {"engine": engine}})
    port = 5432 if engine == "postgres" else 3306
    (rule,) = stack.ingress_to("web-database-sg")
    assert _peer(rule) == stack.named("web-containers-sg").id
    assert _ports(rule) == ("tcp", port, port)
    assert stack.egress_from("web-database-sg") == []


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_database_also_admits_the_bastion_when_there_is_one(build, engine):
    stack = build({"database": {"engine": engine}, "bastion": BASTION})
    port = 5432 if engine == "postgres" else 3306
    sources = {_peer(rule): _ports(rule) for rule in stack.ingress_to("web-database-sg")}
    assert sources == {
        stack.named("web-containers-sg").id: ("tcp", port, port),
        stack.named("web-bastion-sg").id: ("tcp", port, port),
    }
    assert not [r for r in stack.ingress_to("web-database-sg") if r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")]


def test_isolated_containers_can_reach_the_database(build):
    stack = build({**ISOLATED, "database": {}})
    egress = {_peer(r): _ports(r) for r in stack.egress_from("web-containers-sg")}
    assert egress[stack.named("web-database-sg").id] == ("tcp", 5432, 5432)


def test_bastion_admits_ssh_from_the_allowed_cidrs_only(build):
    stack = build({"bastion": {**BASTION, "allowed_cidrs": ["203.0.113.7/32", "198.51.100.0/24"]}, "database": {}})
    ingress = sorted((_peer(r), _ports(r)) for r in stack.ingress_to("web-bastion-sg"))
    assert ingress == [("198.51.100.0/24", ("tcp", 22, 22)), ("203.0.113.7/32", ("tcp", 22, 22))]
    egress = {_peer(r): _ports(r) for r in stack.egress_from("web-bastion-sg")}
    assert egress == {stack.named("web-database-sg").id: ("tcp", 5432, 5432), "0.0.0.0/0": ("tcp", 443, 443)}


def test_bastion_without_a_database_reaches_only_https(build):
    stack = build({"bastion": BASTION})
    assert [_ports(r) for r in stack.egress_from("web-bastion-sg")] == [("tcp", 443, 443)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rule_says_in_words_who_may_reach_whom(build, variant):
    # CKV_AWS_23; AWS accepts letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* up to 255 characters.
    stack = build({**VARIANTS[variant], **EVERYTHING})
    for rule in stack.rules():
        description = rule.inputs.get("description", "")
        assert re.fullmatch(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}", description), rule.name
        assert " may reach " in description, rule.name
    assert stack.named("web-allow-containers-to-database-tcp-5432-in").inputs["description"] == (
        "The container instances may reach the database on TCP 5432"
    )


# A changed description replaces the group (and with it every rule and attachment), so the descriptions are pinned.
DESCRIPTIONS = {
    "web-containers-sg": "ECS container instances: the app port from the front end only",
    "web-alb-sg": "alb: in front of the containers",
    "web-vpc-link-sg": "vpc-link: in front of the containers",
    "web-nat-instance-sg": "NAT instance: all traffic from the VPC",
    "web-endpoints-sg": "VPC interface endpoints: HTTPS from the VPC",
    "web-database-sg": "RDS: the engine port from the containers and bastion",
    "web-bastion-sg": "SSH bastion: port 22 from the allowed CIDRs",
}
FULL = {"database": {}, "bastion": BASTION}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_group_is_in_the_stacks_vpc_with_its_pinned_description(build, variant):
    stack = build({**VARIANTS[variant], **FULL})
    groups = stack.of_type(T.SG)
    assert len(groups) == 5
    for group in groups:
        assert group.inputs["vpcId"] == stack.named("web-vpc").id, group.name
        assert group.inputs["description"] == DESCRIPTIONS[group.name], group.name
    (default_group,) = stack.of_type(T.DEFAULT_SG)
    assert default_group.inputs["vpcId"] == stack.named("web-vpc").id


def _rules_of(stack, group_name):
    group_id = stack.named(group_name).id
    return [
        r for r in stack.rules() if group_id in (r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId"))
    ]


def test_nat_mode_has_no_endpoints_group_and_no_rules_for_it(build):
    stack = build()
    names = {group.name for group in stack.of_type(T.SG)}
    assert names == {"web-containers-sg", "web-alb-sg", "web-nat-instance-sg"}
    assert not [r for r in stack.rules() if "endpoints" in r.name or "s3" in r.name or r.inputs.get("prefixListId")]
    # The free S3 gateway endpoint stays; no interface endpoint, so nothing needs the endpoints group.
    assert [e.inputs["vpcEndpointType"] for e in stack.of_type(T.ENDPOINT)] == ["Gateway"]
    assert not [e for e in stack.of_type(T.ENDPOINT) if e.inputs.get("securityGroupIds")]


def test_isolated_mode_has_no_nat_group_and_no_rules_for_it(build):
    stack = build(ISOLATED)
    assert {group.name for group in stack.of_type(T.SG)} == {"web-containers-sg", "web-alb-sg", "web-endpoints-sg"}
    assert not [
        r
        for r in stack.rules()
        if "nat-instance" in r.name
        or (r.inputs.get("cidrIpv4") == "0.0.0.0/0" and r.inputs["securityGroupId"] != stack.named("web-alb-sg").id)
    ]
    assert len(_rules_of(stack, "web-endpoints-sg")) == 2


def test_without_a_bastion_or_database_there_is_no_group_or_rule_for_them(build):
    stack = build()
    assert stack.maybe("web-bastion-sg") is None and stack.maybe("web-database-sg") is None
    assert not [r for r in stack.rules() if "bastion" in r.name or "admin" in r.name or "database" in r.name]
    with_database = build({"database": {}})
    assert with_database.maybe("web-bastion-sg") is None
    assert not [r for r in with_database.rules() if "bastion" in r.name or "admin" in r.name]
    assert {r.inputs.get("fromPort") for r in _rules_of(with_database, "web-database-sg")} == {5432}
