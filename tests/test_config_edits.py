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
