"""Violations: every breach of the stack's contract and of the FSBP baseline, named by resource and rule."""

import json
from collections.abc import Callable

import pytest

from tests.plan_factory import ANYWHERE, APP_PORT, APP_SUBNETS, DB_PORT, Fake, app_container, good_stack
from tinystack_component.plan.reachability import find_edges
from tinystack_component.plan.violations import (
    APP_NO_IGW,
    DATABASE_ACCESS,
    DATABASE_PORT_FROM_ANYWHERE,
    FRONT_END_ONLY,
    ISOLATED_NO_ROUTE,
    SSH_FROM_ANYWHERE,
    SSH_ONLY_BASTION,
    Violation,
    find_violations,
)

ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}


def violations(resources) -> list[Violation]:
    return find_violations(resources, find_edges(resources))


def reported(fake: Fake) -> set[tuple[str, str]]:
    """(resource, rule) pairs; a violation naming several rule resources yields one pair per name."""
    return {(name, v.rule) for v in violations(fake.resources) for name in v.resource.split(", ")}


# --- what must stay clean --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"front_end": "api", "nat": False}, {"https": False, "database": False, "bastion": False}],
    ids=["alb-nat-db-bastion", "api-isolated", "alb-http-only"],
)
def test_a_compliant_stack_has_no_violations(options):
    assert violations(good_stack(**options).resources) == []


@pytest.mark.parametrize("args", [{}, ISOLATED], ids=["nat", "isolated"])
def test_the_real_stack_has_no_violations(build, args):
    assert violations(build(args).resources) == []


# --- deliberately broken resource sets -------------------------------------------------------------------------------


def _open_database_to_the_world(fake: Fake) -> None:
    fake.rule("broken-db-from-anywhere", "database", DB_PORT, ingress=True, cidr=ANYWHERE)


def _ssh_from(cidr: str) -> Callable[[Fake], object]:
    return lambda fake: fake.rule("broken-ssh", "bastion", 22, ingress=True, cidr=cidr)


def _ssh_to_containers(fake: Fake) -> None:
    fake.allow_between("bastion", "containers", 22)


def _containers_on_the_internet(fake: Fake) -> None:
    fake.update("web-asg", vpcZoneIdentifiers=[fake.id("web-public-1"), fake.id("web-public-2")])
    fake.named("web-container-instances").inputs["networkInterfaces"][0]["associatePublicIpAddress"] = "true"
    fake.rule("broken-containers-from-anywhere", "containers", APP_PORT, ingress=True, cidr=ANYWHERE)


def _alb_on_8443(fake: Fake) -> None:
    fake.rule("broken-alb-8443", "alb", 8443, ingress=True, cidr=ANYWHERE)


def _nat_open_to_the_world(fake: Fake) -> None:
    fake.rule("broken-nat-from-anywhere", "nat-instance", None, ingress=True, cidr=ANYWHERE)


def _database_on_every_port(fake: Fake) -> None:
    fake.allow_between("containers", "database", None)


def _database_from_the_load_balancer(fake: Fake) -> None:
    fake.allow_between("alb", "database", DB_PORT)


def _app_route_to_igw(fake: Fake) -> None:
    fake.drop("web-app-1-default-route")
    fake.route_app_1_to_the_igw()


def _isolated_with_nat_gateway(fake: Fake) -> None:
    fake.add(
        "aws:ec2/route:Route",
        "broken-app-2-natgw",
        routeTableId=fake.id("web-app-2-rt"),
        destinationCidrBlock=ANYWHERE,
        natGatewayId="nat-0123",
    )


def _containers(**overrides) -> Callable[[Fake], object]:
    return lambda fake: fake.update("web-task", containerDefinitions=json.dumps([app_container(**overrides)]))


BROKEN = {
    # (how to break the compliant stack, the stack options, a resource that must be named, the rule it breaks)
    "db-world-ec2.19": (_open_database_to_the_world, {}, "broken-db-from-anywhere", DATABASE_PORT_FROM_ANYWHERE),
    "db-world-contract": (_open_database_to_the_world, {}, "broken-db-from-anywhere", DATABASE_ACCESS),
    "db-world-via-nat": (
        _open_database_to_the_world,
        {},
        "web-allow-nat-instance-to-internet-all-out",
        DATABASE_ACCESS,
    ),
    "ssh-from-0.0.0.0/0": (_ssh_from(ANYWHERE), {}, "broken-ssh", SSH_FROM_ANYWHERE),
    "ssh-from-::/0": (_ssh_from("::/0"), {}, "broken-ssh", SSH_FROM_ANYWHERE),
    "ssh-to-containers": (_ssh_to_containers, {}, "web-allow-bastion-to-containers-tcp-22-in", SSH_ONLY_BASTION),
    "containers-public": (_containers_on_the_internet, {}, "broken-containers-from-anywhere", FRONT_END_ONLY),
    "containers-public-subnets": (_containers_on_the_internet, {}, "web-public-1", APP_NO_IGW),
    "alb-8443": (_alb_on_8443, {}, "broken-alb-8443", FRONT_END_ONLY),
    "nat-world-front-end": (_nat_open_to_the_world, {}, "broken-nat-from-anywhere", FRONT_END_ONLY),
    "nat-world-ssh": (_nat_open_to_the_world, {}, "broken-nat-from-anywhere", SSH_FROM_ANYWHERE),
    "nat-world-ssh-edge": (_nat_open_to_the_world, {}, "broken-nat-from-anywhere", SSH_ONLY_BASTION),
    "db-all-ports": (_database_on_every_port, {}, "web-allow-containers-to-database-all-in", DATABASE_ACCESS),
    "db-from-alb": (_database_from_the_load_balancer, {}, "web-allow-alb-to-database-tcp-5432-in", DATABASE_ACCESS),
    "app-route-igw": (_app_route_to_igw, {}, "web-app-1", APP_NO_IGW),
    "isolated-natgw": (_isolated_with_nat_gateway, {"nat": False}, "web-app-2", ISOLATED_NO_ROUTE),
    "public-rds": (lambda f: f.update("web-database", publiclyAccessible=True), {}, "web-database", "RDS.2"),
    "rds-unencrypted": (lambda f: f.update("web-database", storageEncrypted=False), {}, "web-database", "RDS.3"),
    "rds-no-protection": (
        lambda f: f.named("web-database").inputs.pop("deletionProtection"),
        {},
        "web-database",
        "RDS.8",
    ),
    "rds-1-day": (lambda f: f.update("web-database", backupRetentionPeriod=1.0), {}, "web-database", "RDS.11"),
    "rds-default-backups": (
        lambda f: f.named("web-database").inputs.pop("backupRetentionPeriod"),
        {},
        "web-database",
        "RDS.11",
    ),
    "lt-imdsv1": (
        lambda f: f.update("web-container-instances", metadataOptions={"httpTokens": "optional"}),
        {},
        "web-container-instances",
        "EC2.8",
    ),
    "bastion-no-imds": (lambda f: f.named("web-bastion").inputs.pop("metadataOptions"), {}, "web-bastion", "EC2.8"),
    "lt-ebs-plain": (
        lambda f: f.named("web-container-instances").inputs["blockDeviceMappings"][0]["ebs"].update(encrypted="false"),
        {},
        "web-container-instances",
        "EC2.3",
    ),
    "lt-no-volume": (
        lambda f: f.named("web-container-instances").inputs.pop("blockDeviceMappings"),
        {},
        "web-container-instances",
        "EC2.3",
    ),
    "nat-root-plain": (
        lambda f: f.update("web-nat-instance", rootBlockDevice={"encrypted": False}),
        {},
        "web-nat-instance",
        "EC2.3",
    ),
    "no-flow-log": (lambda f: f.drop("web-flow-log"), {}, "web-vpc", "EC2.6"),
    "no-default-sg": (lambda f: f.drop("web-default-sg"), {}, "web-vpc", "EC2.2"),
    "default-sg-rules": (
        lambda f: f.update("web-default-sg", ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]),
        {},
        "web-default-sg",
        "EC2.2",
    ),
    "public-ip-on-launch": (lambda f: f.update("web-app-2", mapPublicIpOnLaunch=True), {}, "web-app-2", "EC2.15"),
    "alb-keeps-bad-headers": (lambda f: f.update("web-alb", dropInvalidHeaderFields=False), {}, "web-alb", "ELB.4"),
    "http-not-redirected": (
        lambda f: f.update("web-listener-80", defaultActions=f.named("web-listener-443").inputs["defaultActions"]),
        {},
        "web-listener-80",
        "ELB.1",
    ),
    "old-tls-policy": (
        lambda f: f.update("web-listener-443", sslPolicy="ELBSecurityPolicy-2016-08"),
        {},
        "web-listener-443",
        "ELB.17",
    ),
    "no-tls-policy": (lambda f: f.named("web-listener-443").inputs.pop("sslPolicy"), {}, "web-listener-443", "ELB.17"),
    "ssh-from-two-halves": (
        lambda f: [
            f.rule(f"broken-ssh-half-{n}", "bastion", 22, ingress=True, cidr=cidr)
            for n, cidr in enumerate(("0.0.0.0/1", "128.0.0.0/1"))
        ],
        {},
        "broken-ssh-half-0",
        "EC2.13",
    ),
    "stage-no-logs": (
        lambda f: f.named("web-stage").inputs.pop("accessLogSettings"),
        {"front_end": "api"},
        "web-stage",
        "APIGateway.9",
    ),
    "alb-no-access-logs": (lambda f: f.named("web-alb").inputs.pop("accessLogs"), {}, "web-alb", "ELB.5"),
    "alb-logs-disabled": (
        lambda f: f.update("web-alb", accessLogs={"bucket": "web-alb-logs-0f1e2d3", "enabled": False}),
        {},
        "web-alb",
        "ELB.5",
    ),
    "alb-unprotected": (lambda f: f.update("web-alb", enableDeletionProtection=False), {}, "web-alb", "ELB.6"),
    "alb-protection-unset": (
        lambda f: f.named("web-alb").inputs.pop("enableDeletionProtection"),
        {},
        "web-alb",
        "ELB.6",
    ),
    "rule-without-description": (
        lambda f: f.named("web-allow-admin-1-to-bastion-tcp-22-in").inputs.pop("description"),
        {},
        "web-allow-admin-1-to-bastion-tcp-22-in",
        "CKV_AWS_23",
    ),
    "inline-rule-without-description": (
        lambda f: f.update("web-bastion-sg", ingress=[{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0}]),
        {},
        "web-bastion-sg",
        "CKV_AWS_23",
    ),
    "privileged": (_containers(privileged=True), {}, "web-task", "ECS.4"),
    "no-container-logs": (_containers(logConfiguration=None), {}, "web-task", "ECS.9"),
    "no-insights": (lambda f: f.update("web-cluster", settings=[]), {}, "web-cluster", "ECS.12"),
}


@pytest.mark.parametrize(("breakage", "options", "resource", "rule"), BROKEN.values(), ids=BROKEN.keys())
def test_each_breakage_is_reported(breakage, options, resource, rule):
    fake = good_stack(**options)
    breakage(fake)
    found = reported(fake)
    assert any(name == resource and found_rule.startswith(rule) for name, found_rule in found), sorted(found)


def test_a_route_to_an_igw_from_an_isolated_subnet_breaks_both_route_rules():
    fake = good_stack(nat=False)
    fake.route_app_1_to_the_igw()
    assert {v.rule for v in violations(fake.resources) if v.resource == "web-app-1"} == {
        APP_NO_IGW,
        ISOLATED_NO_ROUTE,
    }


def test_the_issue_example_a_rule_from_anywhere_to_the_database_is_reported_with_its_name():
    fake = good_stack()
    _open_database_to_the_world(fake)
    found = [v for v in violations(fake.resources) if v.resource == "broken-db-from-anywhere"]
    assert {v.rule for v in found} == {DATABASE_PORT_FROM_ANYWHERE, DATABASE_ACCESS}
    assert all(ANYWHERE in v.detail for v in found)


# --- what must not be reported ---------------------------------------------------------------------------------------


def test_ssh_from_the_allowed_cidr_to_the_bastion_is_fine():
    fake = good_stack()
    fake.rule("admin-2", "bastion", 22, ingress=True, cidr="2001:db8::/48")
    assert violations(fake.resources) == []


def test_the_nat_instance_may_take_every_protocol_from_the_vpc_but_not_ssh_alone():
    fake = good_stack()
    assert violations(fake.resources) == []  # containers → nat-instance: all
    fake.rule("vpc-ssh-to-nat", "nat-instance", 22, ingress=True, cidr="10.0.0.0/16")
    fake.rule("containers-ssh-out", "containers", 22, ingress=False, cidr="10.0.0.0/16")
    fake.drop("web-allow-vpc-to-nat-instance-all-in")
    assert {v.rule for v in violations(fake.resources)} == {SSH_ONLY_BASTION}


def test_a_network_load_balancer_needs_no_header_dropping():
    fake = good_stack().update("web-alb", loadBalancerType="network", dropInvalidHeaderFields=False)
    assert not [v for v in violations(fake.resources) if v.rule.startswith("ELB.4")]


def test_an_http_only_listener_may_forward():
    assert violations(good_stack(https=False).resources) == []


def test_ebs_encryption_by_default_covers_undeclared_volumes():
    fake = good_stack()
    fake.named("web-container-instances").inputs.pop("blockDeviceMappings")
    fake.add("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs-default", enabled=True)
    assert violations(fake.resources) == []


def test_a_database_on_a_mysql_engine_default_port():
    fake = good_stack().drop(f"web-allow-containers-to-database-tcp-{DB_PORT}-out")
    fake.named("web-database").inputs.pop("port")
    fake.update("web-database", engine="mysql")
    fake.drop(f"web-allow-containers-to-database-tcp-{DB_PORT}-in")
    fake.drop(f"web-allow-bastion-to-database-tcp-{DB_PORT}-out", f"web-allow-bastion-to-database-tcp-{DB_PORT}-in")
    fake.allow_between("containers", "database", 3306)
    assert violations(fake.resources) == []
    fake.allow_between("bastion", "database", DB_PORT)
    assert {v.rule for v in violations(fake.resources)} == {DATABASE_ACCESS}


def test_app_subnets_through_the_nat_instance_are_fine_but_not_when_it_is_gone():
    fake = good_stack()
    nat_parts = [r.name for r in fake.resources if "nat-instance" in r.name or r.name == "web-nat-eip"]
    fake.drop(*nat_parts)
    rules = {(v.resource, v.rule) for v in violations(fake.resources)}
    assert rules == {(f"web-{name}", ISOLATED_NO_ROUTE) for name in APP_SUBNETS}


def test_violations_are_sorted_and_unique():
    fake = good_stack()
    _open_database_to_the_world(fake)
    _nat_open_to_the_world(fake)
    fake.drop("web-flow-log")
    found = violations(fake.resources)
    assert found == sorted(set(found), key=lambda v: (v.resource, v.rule, v.detail))
    assert violations(list(reversed(fake.resources))) == found


def test_the_real_stack_with_a_broken_rule_is_reported(build):
    stack = build()
    fake = Fake(stack.resources)
    fake.open_to_the_world("broken-nat-ssh-from-anywhere", stack.named("web-nat-instance-sg").id, "tcp", 22.0)
    rules = {v.rule for v in violations(fake.resources) if v.resource == "broken-nat-ssh-from-anywhere"}
    assert rules == {FRONT_END_ONLY, SSH_FROM_ANYWHERE, SSH_ONLY_BASTION}


def test_app_routes_must_target_an_interface_that_a_nat_group_attaches(build):
    from tinystack_component.plan.violations import NAT_ROUTE_ATTACHED

    stack = build()
    assert violations(stack.resources) == []
    without_group = [r for r in stack.resources if r.name != "web-nat-asg"]
    found = [v for v in violations(without_group) if v.rule == NAT_ROUTE_ATTACHED]
    assert sorted(v.resource for v in found) == ["web-app-1", "web-app-2", "web-app-3"]
    assert all("web-nat-eni, which no NAT group attaches" in v.detail for v in found)
