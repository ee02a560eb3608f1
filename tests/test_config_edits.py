"""Config edits are safe: what an edit does not concern keeps its name and its inputs (no replacement)."""

import pytest

from tests.conftest import API_GATEWAY, BASTION, ISOLATED, T

NETWORK = (T.VPC, T.SUBNET, T.ROUTE_TABLE, T.ROUTE_TABLE_ASSOCIATION, T.IGW, T.DEFAULT_SG)
DATA = (T.RDS_INSTANCE, T.RDS_SUBNET_GROUP, "aws:rds/parameterGroup:ParameterGroup")
OTHER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:2"


def snapshot(stack, types):
    return {(r.type, r.name): r.inputs for r in stack.resources if r.type in types}


def test_switching_the_front_end_or_the_port_keeps_network_and_cluster(build):
    base = build()
    for edit in (API_GATEWAY, {"container_port": 8080}, {**API_GATEWAY, "container_port": 3000}):
        edited = build(edit)
        assert snapshot(edited, (*NETWORK, T.CLUSTER)) == snapshot(base, (*NETWORK, T.CLUSTER)), edit


def test_toggling_nat_keeps_cluster_and_service_names(build):
    with_nat, isolated = build(), build(ISOLATED)
    for name in ("web-cluster", "web-service", "web-task", "web-asg"):
        assert with_nat.named(name).type == isolated.named(name).type
    assert with_nat.output("cluster_name") == isolated.output("cluster_name")
    assert with_nat.output("service_name") == isolated.output("service_name")
    assert snapshot(with_nat, (T.CLUSTER,)) == snapshot(isolated, (T.CLUSTER,))


DATABASE = {"database": {"engine": "postgres", "multi_az": True}}
EDITS = {
    "toggle nat": ISOLATED,
    "switch front end": API_GATEWAY,
    "change container port": {"container_port": 9000},
    "change container image": {"container_image": OTHER_IMAGE},
    "add bastion": {"bastion": BASTION},
}


@pytest.mark.parametrize("edit", EDITS)
def test_no_data_lost_on_config_edits(build, edit):
    before = build(DATABASE)
    after = build({**DATABASE, **EDITS[edit]})
    assert snapshot(after, DATA) == snapshot(before, DATA)
    assert len(snapshot(before, DATA)) == 3
    assert after.named("web-database-sg").inputs == before.named("web-database-sg").inputs


def test_removing_the_bastion_keeps_the_database(build):
    with_bastion = build({**DATABASE, "bastion": BASTION})
    without = build(DATABASE)
    assert snapshot(without, DATA) == snapshot(with_bastion, DATA)


def test_adding_the_bastion_only_adds_database_rules(build):
    before = build(DATABASE)
    after = build({**DATABASE, "bastion": BASTION})
    before_rules = {r.name: r.inputs for r in before.rules()}
    after_rules = {r.name: r.inputs for r in after.rules()}
    assert {name: inputs for name, inputs in after_rules.items() if name in before_rules} == before_rules
    added = sorted(set(after_rules) - set(before_rules))
    assert "web-allow-bastion-to-database-tcp-5432-in" in added


@pytest.mark.parametrize("edit", [ISOLATED, API_GATEWAY, {"bastion": BASTION}, DATABASE])
def test_subnet_cidrs_and_names_never_move(build, edit):
    def layout(stack):
        return sorted((s.name, s.inputs["cidrBlock"], s.inputs["availabilityZone"]) for s in stack.of_type(T.SUBNET))

    assert layout(build(edit)) == layout(build())


# us-east-1e offers m5 but neither t3 nor t4g (plan/recording.py LIMITED_ZONES): among the first three zones, it is
# usable by the container instances alone, so a default zone choice on the launched types only would move with nat.
ZONES_WITH_A_LIMITED_ONE = ["us-east-1a", "us-east-1e", "us-east-1b", "us-east-1c", "us-east-1d"]
M5 = {"instance_type": "m5.large", "container_memory": 1024}


@pytest.mark.parametrize(
    "before, after",
    [({}, ISOLATED), (ISOLATED, {}), (ISOLATED, {**ISOLATED, "bastion": BASTION})],
    ids=["nat off", "nat on", "add bastion"],
)
def test_toggling_nat_or_adding_a_bastion_keeps_the_default_zones(build, before, after):
    build.mocks.zone_names = ZONES_WITH_A_LIMITED_ONE

    def layout(stack):
        return sorted((s.name, s.inputs["cidrBlock"], s.inputs["availabilityZone"]) for s in stack.of_type(T.SUBNET))

    old, new = build({**M5, **before}), build({**M5, **after})
    assert layout(new) == layout(old)
    assert {zone for _, _, zone in layout(old)} == {"us-east-1a", "us-east-1b", "us-east-1c"}


# --- the domain -------------------------------------------------------------------------------------------------------

DOMAIN = {"domain_name": "app.example.com"}
OTHER_DOMAIN = {"domain_name": "www.example.com"}
# What a domain is made of: it comes, goes or is replaced with the name.
DOMAIN_TIER = (
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
    "aws:apigatewayv2/domainName:DomainName",
    "aws:apigatewayv2/apiMapping:ApiMapping",
)
KEPT = (*NETWORK, *DATA, T.CLUSTER, T.LOAD_BALANCER, T.TARGET_GROUP, T.SERVICE, T.TASK_DEFINITION, T.VPC_LINK)


def everything_but(stack, types):
    return {(r.type, r.name): r.inputs for r in stack.resources if r.type not in types}


@pytest.mark.parametrize("front_end", [{}, API_GATEWAY], ids=["alb", "api"])
@pytest.mark.parametrize(
    "before, after", [({}, DOMAIN), (DOMAIN, {}), (DOMAIN, OTHER_DOMAIN)], ids=["add", "remove", "change"]
)
def test_adding_changing_or_removing_the_domain_keeps_the_stack(build, front_end, before, after):
    old, new = build({**DATABASE, **front_end, **before}), build({**DATABASE, **front_end, **after})
    assert snapshot(new, KEPT) == snapshot(old, KEPT)
    # The VPC, 6 subnets, the database, and the load balancer or the API.
    assert len(snapshot(old, (T.LOAD_BALANCER, T.HTTP_API, T.VPC, T.SUBNET, T.RDS_INSTANCE))) == 9
    # The API changes only its execute-api switch, an in-place update: the endpoint is off while a domain exists.
    if front_end:
        old_api, new_api = old.named("web-api").inputs, new.named("web-api").inputs
        changed = {key for key in old_api.keys() | new_api.keys() if old_api.get(key) != new_api.get(key)}
        assert changed == ({"disableExecuteApiEndpoint"} if bool(before) != bool(after) else set())
    else:
        assert old.named("web-alb").inputs == new.named("web-alb").inputs


@pytest.mark.parametrize("front_end", [{}, API_GATEWAY], ids=["alb", "api"])
def test_changing_the_domain_replaces_only_the_certificate_and_the_records(build, front_end):
    old, new = build({**DATABASE, **front_end, **DOMAIN}), build({**DATABASE, **front_end, **OTHER_DOMAIN})
    # The listener follows the new validated ARN in place (certificate_arn is an update, not a replacement).
    listener = T.LISTENER
    assert everything_but(new, (*DOMAIN_TIER, listener)) == everything_but(old, (*DOMAIN_TIER, listener))
    if not front_end:
        old_listener, new_listener = old.named("web-listener-443").inputs, new.named("web-listener-443").inputs
        assert {k: v for k, v in new_listener.items() if k != "certificateArn"} == {
            k: v for k, v in old_listener.items() if k != "certificateArn"
        }
        assert new_listener["certificateArn"] == new.named("web-certificate-validation").outputs["certificateArn"]
        assert new_listener["certificateArn"] != old_listener["certificateArn"]
    # Same logical names, new inputs: Pulumi replaces them, creating each replacement before deleting the old.
    names = sorted(r.name for r in old.resources if r.type in DOMAIN_TIER)
    assert names == sorted(r.name for r in new.resources if r.type in DOMAIN_TIER)
    assert new.named("web-certificate").inputs["domainName"] == "www.example.com"
    assert all(not r.options["delete_before_replace"] for r in new.resources if r.type in DOMAIN_TIER)


SESSION_MANAGER_BASTION: dict = {"bastion": {}}


@pytest.mark.parametrize("mode", [{}, ISOLATED], ids=["nat", "isolated"])
def test_switching_between_the_two_bastion_kinds_never_touches_the_database(build, mode):
    ssh = build({**mode, **DATABASE, "bastion": BASTION})
    session_manager = build({**mode, **DATABASE, **SESSION_MANAGER_BASTION})
    without = build({**mode, **DATABASE})
    assert snapshot(ssh, DATA) == snapshot(session_manager, DATA) == snapshot(without, DATA)
    assert len(snapshot(ssh, DATA)) == 3
    assert ssh.named("web-database-sg").inputs == session_manager.named("web-database-sg").inputs
    # The database's rule from the bastion keeps its name; only the bastion side of it differs.
    for stack in (ssh, session_manager):
        assert stack.named("web-allow-bastion-to-database-tcp-5432-in").inputs["securityGroupId"] == (
            stack.named("web-database-sg").id
        )


ISOLATED_EDITS = {
    "add a database": DATABASE,
    "add container secrets": {"container_secrets": {"TOKEN": "x"}},
    "add the session manager bastion": SESSION_MANAGER_BASTION,
    "add the ssh bastion": {"bastion": BASTION},
    "one endpoint zone": {"endpoint_zones": 1},
}


@pytest.mark.parametrize("edit", ISOLATED_EDITS)
def test_isolated_edits_keep_network_and_every_other_endpoint(build, edit):
    before = build(ISOLATED)
    after = build({**ISOLATED, **ISOLATED_EDITS[edit]})
    assert snapshot(after, NETWORK) == snapshot(before, NETWORK)
    endpoints_before, endpoints_after = snapshot(before, (T.ENDPOINT,)), snapshot(after, (T.ENDPOINT,))
    assert set(endpoints_before) <= set(endpoints_after)
    for key, inputs in endpoints_before.items():
        unchanged = {k: v for k, v in endpoints_after[key].items() if k != "subnetIds"}
        assert unchanged == {k: v for k, v in inputs.items() if k != "subnetIds"}, key
        if edit != "one endpoint zone":
            assert endpoints_after[key] == inputs, key


@pytest.mark.parametrize("edit", ISOLATED_EDITS)
def test_isolated_edits_keep_the_database(build, edit):
    before = build({**ISOLATED, **DATABASE})
    after = build({**ISOLATED, **DATABASE, **ISOLATED_EDITS[edit]})
    assert snapshot(after, DATA) == snapshot(before, DATA)
    assert len(snapshot(before, DATA)) == 3


@pytest.mark.parametrize("zones", [1, 2])
def test_toggling_nat_with_endpoint_zones_set_is_one_key_and_keeps_network_and_database(build, zones):
    kept = (T.VPC, T.SUBNET, *DATA)
    isolated = build({**ISOLATED, **DATABASE, "endpoint_zones": zones})
    # The same config with nat true: endpoint_zones stays and is unused.
    with_nat = build({**DATABASE, "container_image": ISOLATED["container_image"], "endpoint_zones": zones})
    assert snapshot(with_nat, kept) == snapshot(isolated, kept)
    assert len(snapshot(isolated, kept)) == 1 + 6 + 3
    assert [e.name for e in with_nat.of_type(T.ENDPOINT)] == ["web-s3-endpoint"]


# What the single NAT instance design (an aws.ec2.Instance with an EIP) registered and the self-healing NAT keeps,
# by name and type: the Elastic IP keeps its allocation (its domain, the one input that replaces it, is unchanged),
# the routes are updated in place (same table, same destination), the group, role and profile stay.
KEPT_FROM_THE_SINGLE_INSTANCE_NAT = {
    "web-nat-eip": T.EIP,
    "web-nat-instance-sg": T.SG,
    "web-nat-instance-role": T.ROLE,
    "web-nat-instance-profile": T.INSTANCE_PROFILE,
    "web-allow-vpc-to-nat-instance-all-in": T.INGRESS,
    "web-allow-nat-instance-to-internet-all-out": T.EGRESS,
    **{f"web-app-{number}-default-route": T.ROUTE for number in (1, 2, 3)},
}


def test_moving_from_the_single_nat_instance_keeps_address_routes_and_network(build):
    stack = build(DATABASE)
    for name, typ in KEPT_FROM_THE_SINGLE_INSTANCE_NAT.items():
        assert stack.named(name).type == typ, name
    assert stack.named("web-nat-eip").inputs["domain"] == "vpc"
    for number in (1, 2, 3):
        route = stack.named(f"web-app-{number}-default-route")
        assert route.inputs["routeTableId"] == stack.named(f"web-app-{number}-rt").id
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    # The network, the route tables and the database are the same as with any other NAT setting.
    isolated = build({**DATABASE, **ISOLATED})
    assert snapshot(stack, (*NETWORK, *DATA)) == snapshot(isolated, (*NETWORK, *DATA))


def test_toggling_nat_keeps_the_network_and_route_tables(build):
    assert snapshot(build(ISOLATED), NETWORK) == snapshot(build(), NETWORK)


@pytest.mark.parametrize("database", [{}, DATABASE])
def test_toggling_nat_high_availability_keeps_the_first_nat_network_and_data(build, database):
    single, ha = build(database), build({**database, "nat_high_availability": True})
    kept = (*NETWORK, *DATA)
    assert snapshot(ha, kept) == snapshot(single, kept)
    for name in ("web-nat-eni", "web-nat-eip"):
        assert ha.named(name).inputs == single.named(name).inputs, name
    for number in (1, 2, 3):  # the same routes: only their target differs, which the NATs own after creation
        before, after = single.named(f"web-app-{number}-default-route"), ha.named(f"web-app-{number}-default-route")
        assert before.inputs["routeTableId"] == after.inputs["routeTableId"]


# --- hardening switches ---------------------------------------------------------------------------------------------

HARDENING_EDITS = {
    "kms on": {"kms": True},
    "deletion protection off": {"deletion_protection": False},
    "waf on": {"waf": True},
    "alb access logs off": {"alb_access_logs": False},
    "read-only root filesystem off": {"read_only_root_filesystem": False},
}


@pytest.mark.parametrize("edit", HARDENING_EDITS)
@pytest.mark.parametrize("reverse", [False, True], ids=["on", "back"])
def test_hardening_switches_never_replace_the_network_or_the_database(build, edit, reverse):
    before, after = build(DATABASE), build({**DATABASE, **HARDENING_EDITS[edit]})
    if reverse:
        before, after = after, before
    assert snapshot(after, NETWORK) == snapshot(before, NETWORK)
    old, new = before.named("web-database"), after.named("web-database")
    # Deletion protection is an in-place update; the password's key is ignored after creation (RDS cannot change it).
    changed = {key for key in old.inputs.keys() | new.inputs.keys() if old.inputs.get(key) != new.inputs.get(key)}
    assert changed <= {"deletionProtection", "masterUserSecretKmsKeyId"}, changed
    assert "masterUserSecretKmsKeyId" in new.options["ignore_changes"]
    assert snapshot(after, DATA[1:]) == snapshot(before, DATA[1:])
