"""Isolated mode: interface endpoints in the app subnets, named for the provider's region, derived from the config."""

import itertools

import pytest

from tests.conftest import BASTION, ISOLATED, T
from tinystack_component.args import TinyStackArgsError
from tinystack_component.egress.endpoints import ALWAYS, interface_endpoint_services
from tinystack_component.validation import validate

EU_ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"}
ECS_ON_EC2 = ["ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "logs"]
SECRET = {"container_secrets": {"TOKEN": "x"}}
SESSION_MANAGER_BASTION: dict = {"bastion": {}}
SSH_BASTION = {"bastion": BASTION}


@pytest.fixture
def eu_build(build):
    build.mocks.region = "eu-west-1"
    build.mocks.zone_names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    return build


@pytest.fixture
def isolated(build):
    return build(ISOLATED)


def interface_endpoints(stack):
    return {e.name: e for e in stack.of_type(T.ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"}


def services(stack):
    return sorted(
        e.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.") for e in interface_endpoints(stack).values()
    )


def test_without_database_secrets_or_session_manager_only_what_ecs_on_ec2_needs(isolated):
    assert services(isolated) == sorted(ECS_ON_EC2)
    assert set(ALWAYS) == set(ECS_ON_EC2)


# Every combination: database or not, container secrets or not, no bastion / SSH bastion / Session Manager bastion.
# The pure set reads no zone count; the recorded builds run each kind with endpoint_zones 1, 2 and 3 (3 = unset).
KINDS = list(itertools.product([{}, {"database": {}}], [{}, SECRET], [{}, SSH_BASTION, SESSION_MANAGER_BASTION]))


def combination(database, secrets, bastion, zones=None):
    args = {**ISOLATED, **database, **secrets, **bastion}
    return args if zones is None else {**args, "endpoint_zones": zones}


def expected_services(database, secrets, bastion):
    expected = list(ECS_ON_EC2)
    if database or secrets:
        expected.append("secretsmanager")
    if bastion is SESSION_MANAGER_BASTION:
        expected += ["ssm", "ssmmessages"]
    return sorted(expected)


@pytest.mark.parametrize(("database", "secrets", "bastion"), KINDS)
def test_the_endpoint_set_for_each_combination(database, secrets, bastion):
    found = interface_endpoint_services(validate(combination(database, secrets, bastion)))
    assert sorted(found) == expected_services(database, secrets, bastion)
    assert "ec2messages" not in found


# One build per kind; the zone count turns with the database and secrets, so each bastion kind is recorded with
# endpoint_zones 1, 2 and 3 (KINDS varies the bastion fastest: kind 3a + b gets (a + b) % 3 + 1).
RECORDED = [(*kind, (index // 3 + index % 3) % 3 + 1) for index, kind in enumerate(KINDS)]


@pytest.mark.parametrize(("database", "secrets", "bastion", "zones"), RECORDED)
def test_the_recorded_endpoints_and_their_subnets_for_each_combination(build, database, secrets, bastion, zones):
    stack = build(combination(database, secrets, bastion, zones))
    assert services(stack) == expected_services(database, secrets, bastion)
    first = [stack.named(f"web-app-{n}").id for n in range(1, zones + 1)]
    for endpoint in interface_endpoints(stack).values():
        assert endpoint.inputs["subnetIds"] == first, endpoint.name


def test_each_bastion_kind_is_recorded_with_one_two_and_three_endpoint_zones():
    for bastion in ({}, SSH_BASTION, SESSION_MANAGER_BASTION):
        assert {zones for *_, kind, zones in RECORDED if kind == bastion} == {1, 2, 3}


def test_endpoints_sit_in_the_app_subnets_behind_their_group(isolated):
    app_subnets = [isolated.named(f"web-app-{n}").id for n in (1, 2, 3)]
    group = isolated.named("web-endpoints-sg").id
    for endpoint in interface_endpoints(isolated).values():
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert endpoint.inputs["subnetIds"] == app_subnets
        assert endpoint.inputs["securityGroupIds"] == [group]
        assert endpoint.inputs["vpcId"] == isolated.named("web-vpc").id


def test_endpoints_are_named_for_the_providers_region_and_sit_in_its_first_az(eu_build):
    stack = eu_build({**EU_ISOLATED, "endpoint_zones": 1})
    assert {e.inputs["serviceName"] for e in interface_endpoints(stack).values()} == {
        f"com.amazonaws.eu-west-1.{service}" for service in ECS_ON_EC2
    }
    (subnet,) = {tuple(e.inputs["subnetIds"]) for e in interface_endpoints(stack).values()}
    assert [stack.by_id(s).inputs["availabilityZone"] for s in subnet] == ["eu-west-1a"]
    assert stack.named("web-s3-endpoint").inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"


def test_each_endpoint_keeps_its_name_and_inputs_when_others_come_and_go(build):
    base = interface_endpoints(build(ISOLATED))
    for edit in ({"database": {}}, SECRET, SESSION_MANAGER_BASTION, SSH_BASTION):
        edited = interface_endpoints(build({**ISOLATED, **edit}))
        assert {name: e.inputs for name, e in edited.items() if name in base} == {n: e.inputs for n, e in base.items()}
        assert set(base) <= set(edited)


def test_changing_endpoint_zones_changes_only_the_endpoints_subnets(build):
    three = interface_endpoints(build(ISOLATED))
    one = interface_endpoints(build({**ISOLATED, "endpoint_zones": 1}))
    assert set(one) == set(three)
    for name, endpoint in one.items():
        changed = {k for k in endpoint.inputs if endpoint.inputs[k] != three[name].inputs[k]}
        assert changed == {"subnetIds"}, name


def test_endpoint_group_admits_https_from_the_vpc_only(isolated):
    (rule,) = isolated.ingress_to("web-endpoints-sg")
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"


def test_nat_mode_has_no_interface_endpoints(build):
    assert [e.name for e in build().of_type(T.ENDPOINT)] == ["web-s3-endpoint"]
    assert [e.name for e in build({"bastion": {}}).of_type(T.ENDPOINT)] == ["web-s3-endpoint"]


@pytest.mark.parametrize(
    ("args", "accepted"),
    [
        ({**ISOLATED, "endpoint_zones": 0}, "from 1 to 3"),
        ({**ISOLATED, "endpoint_zones": 4}, "from 1 to 3"),
        ({**ISOLATED, "endpoint_zones": 3, "availability_zones": ["us-east-1a", "us-east-1b"]}, "from 1 to 2"),
        ({**ISOLATED, "endpoint_zones": "one"}, "Availability Zones"),
        ({"endpoint_zones": 0}, "from 1 to 3"),
    ],
)
def test_endpoint_zones_is_validated_against_the_az_count(args, accepted):
    with pytest.raises(TinyStackArgsError, match="endpoint_zones") as error:
        validate(args)
    assert accepted in str(error.value)


def test_endpoint_zones_is_unused_with_nat_so_toggling_nat_is_one_key(build):
    assert validate({"endpoint_zones": 1}).endpoint_zones is None
    assert validate({**ISOLATED, "endpoint_zones": 1}).endpoint_zones == 1
    with_key = build({"endpoint_zones": 1})
    assert {(r.type, r.name): r.inputs for r in with_key.resources} == {
        (r.type, r.name): r.inputs for r in build().resources
    }


def test_endpoint_zones_beyond_the_looked_up_azs_fails_before_any_resource(eu_build):
    eu_build.mocks.zone_names = ["eu-west-1a", "eu-west-1b"]
    with pytest.raises(TinyStackArgsError, match=r"endpoint_zones.*at most the stack's 2"):
        eu_build({**EU_ISOLATED, "endpoint_zones": 3})


def test_container_instances_get_session_manager_only_where_it_is_reachable(build):
    def policies(stack):
        role = stack.named("web-container-instance-role").outputs["name"]
        return {
            a.inputs["policyArn"].rsplit("/", 1)[-1]
            for a in stack.of_type(T.ROLE_POLICY_ATTACHMENT)
            if a.inputs["role"] == role
        }

    assert "AmazonSSMManagedInstanceCore" in policies(build())
    assert "AmazonSSMManagedInstanceCore" not in policies(build(ISOLATED))
    assert "AmazonSSMManagedInstanceCore" in policies(build({**ISOLATED, **SESSION_MANAGER_BASTION}))


@pytest.mark.parametrize("bastion", [{}, SESSION_MANAGER_BASTION], ids=["no-bastion", "session-manager-bastion"])
def test_the_instances_and_the_service_start_after_the_endpoints_and_stop_before_them(build, bastion):
    # Agents that boot before private DNS answers never register; on destroy or a nat toggle the endpoints must
    # outlive the service's draining.
    stack = build({**ISOLATED, **bastion})
    endpoints = {e.urn for e in interface_endpoints(stack).values()}
    assert len(endpoints) == len(expected_services({}, {}, bastion))
    for name in ("web-asg", "web-service"):
        assert endpoints <= set(stack.named(name).options["dependencies"]), name


def test_with_nat_the_instances_and_the_service_wait_for_no_endpoint(build):
    stack = build()
    s3 = stack.named("web-s3-endpoint").urn
    for name in ("web-asg", "web-service"):
        assert s3 not in stack.named(name).options["dependencies"], name
