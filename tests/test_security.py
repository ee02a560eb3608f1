"""Who may talk to whom: every security-group rule, as relationships between groups."""

from tests.conftest import T

ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}


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
