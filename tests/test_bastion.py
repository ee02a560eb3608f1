"""The optional SSH bastion: key pair, placement, hardening, and the commands it outputs."""

import re

import pytest

from tests.conftest import BASTION, PUBLIC_KEY, T
from tinystack_component.args import TinyStackArgsError
from tinystack_component.plan.reachability import find_edges
from tinystack_component.security import SESSION_MANAGER_BASTION_DESCRIPTION, SSH_BASTION_DESCRIPTION


def test_no_bastion_unless_configured(build):
    stack = build()
    assert stack.maybe("web-bastion") is None and stack.of_type(T.KEY_PAIR) == []
    assert stack.output("bastion_public_ip") is None and stack.output("bastion_ssh_command") is None


def test_key_pair_holds_only_the_public_key(build):
    stack = build({"bastion": BASTION})
    (key_pair,) = stack.of_type(T.KEY_PAIR)
    assert key_pair.inputs["publicKey"] == PUBLIC_KEY
    assert set(key_pair.inputs) <= {"publicKey", "tags"}
    assert not [r for r in stack.resources if r.type in ("tls:index/privateKey:PrivateKey",)]
    assert stack.named("web-bastion").inputs["keyName"] == key_pair.outputs["keyName"]


def test_bastion_is_public_hardened_and_managed_by_ssm(build):
    stack = build({"bastion": {**BASTION, "instance_type": "t3.micro"}})
    bastion = stack.named("web-bastion").inputs
    assert bastion["subnetId"] == stack.named("web-public-1").id
    assert bastion["associatePublicIpAddress"] is True
    assert bastion["metadataOptions"]["httpTokens"] == "required"
    assert bastion["rootBlockDevice"]["encrypted"] is True
    assert bastion["instanceType"] == "t3.micro"
    assert bastion["ami"] == "ami-0x8664example000"
    assert bastion["vpcSecurityGroupIds"] == [stack.named("web-bastion-sg").id]
    assert "ami" in stack.named("web-bastion").options["ignore_changes"]
    attachment = stack.named("web-bastion-role-AmazonSSMManagedInstanceCore")
    assert attachment.inputs["policyArn"].endswith("AmazonSSMManagedInstanceCore")


def test_user_data_turns_off_passwords_and_root_login(build):
    user_data = build({"bastion": BASTION}).named("web-bastion").inputs["userData"]
    assert "PasswordAuthentication no" in user_data
    assert "PermitRootLogin no" in user_data
    assert "KbdInteractiveAuthentication no" in user_data


def test_outputs_and_tunnel(build):
    stack = build({"bastion": BASTION, "database": {}})
    public_ip = stack.named("web-bastion").outputs["publicIp"]
    database_host = stack.named("web-database").outputs["address"]
    assert stack.output("bastion_public_ip") == public_ip
    assert stack.output("bastion_ssh_command") == f"ssh ec2-user@{public_ip}"
    assert stack.output("database_tunnel_command") == f"ssh -N -L 5432:{database_host}:5432 ec2-user@{public_ip}"


def test_no_tunnel_without_a_database(build):
    assert build({"bastion": BASTION}).output("database_tunnel_command") is None


def test_the_nat_and_bastion_share_one_ami_lookup(build):
    stack = build({"bastion": BASTION})
    names = [i.args["name"] for i in stack.invokes if i.token == "aws:ssm/getParameter:getParameter"]
    assert len(names) == len(set(names))
    assert stack.named("web-bastion").inputs["ami"] == stack.named("web-nat-launch-template").inputs["imageId"]


# --- the Session Manager bastion: no key, no public IP, no inbound rule ----------------------------------------------

SESSION_MANAGER: dict = {"bastion": {}}
ISOLATED_IMAGE = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}


@pytest.mark.parametrize("mode", [{}, ISOLATED_IMAGE], ids=["nat", "isolated"])
def test_session_manager_bastion_sits_in_an_app_subnet_without_key_or_public_ip(build, mode):
    stack = build({**mode, **SESSION_MANAGER, "database": {}})
    bastion = stack.named("web-bastion").inputs
    assert bastion["subnetId"] == stack.named("web-app-1").id
    assert bastion["associatePublicIpAddress"] is False
    assert "keyName" not in bastion and stack.of_type(T.KEY_PAIR) == []
    assert "userData" not in bastion
    assert bastion["metadataOptions"]["httpTokens"] == "required"
    assert bastion["rootBlockDevice"]["encrypted"] is True
    assert bastion["vpcSecurityGroupIds"] == [stack.named("web-bastion-sg").id]
    assert not [e for e in stack.of_type(T.EIP) if e.inputs.get("instance") == stack.named("web-bastion").id]
    profile = stack.named("web-bastion-profile")
    assert bastion["iamInstanceProfile"] == profile.outputs["name"]
    attachment = stack.named("web-bastion-role-AmazonSSMManagedInstanceCore")
    assert attachment.inputs["role"] == profile.inputs["role"]


@pytest.mark.parametrize("mode", [{}, ISOLATED_IMAGE], ids=["nat", "isolated"])
def test_session_manager_bastion_group_has_no_inbound_rule_and_egress_to_the_database_port_and_443(build, mode):
    stack = build({**mode, **SESSION_MANAGER, "database": {}})
    assert stack.ingress_to("web-bastion-sg") == []
    egress = {
        (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]) for r in stack.egress_from("web-bastion-sg")
    }
    assert egress == {("tcp", 5432, 5432), ("tcp", 443, 443)}
    to_database = stack.named("web-allow-bastion-to-database-tcp-5432-out").inputs
    assert to_database["referencedSecurityGroupId"] == stack.named("web-database-sg").id
    into_database = stack.named("web-allow-bastion-to-database-tcp-5432-in").inputs
    assert into_database["securityGroupId"] == stack.named("web-database-sg").id
    assert into_database["referencedSecurityGroupId"] == stack.named("web-bastion-sg").id


def test_isolated_session_manager_bastion_reaches_only_the_endpoints_and_s3_on_443(build):
    stack = build({**ISOLATED_IMAGE, **SESSION_MANAGER})
    targets = {
        (r.inputs.get("referencedSecurityGroupId") or r.inputs.get("prefixListId") or r.inputs.get("cidrIpv4"))
        for r in stack.egress_from("web-bastion-sg")
    }
    assert targets == {stack.named("web-endpoints-sg").id, stack.named("web-s3-endpoint").outputs["prefixListId"]}
    for name in ("web-allow-bastion-to-endpoints-tcp-443-out", "web-allow-bastion-to-s3-tcp-443-out"):
        assert stack.named(name).inputs["description"].startswith("The bastion may reach")
    assert stack.named("web-ssm-endpoint") and stack.named("web-ssmmessages-endpoint")


def test_nat_session_manager_bastion_goes_out_on_443_only(build):
    (rule,) = build(SESSION_MANAGER).egress_from("web-bastion-sg")
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["cidrIpv4"]) == ("tcp", 443, "0.0.0.0/0")


@pytest.mark.parametrize("mode", [{}, ISOLATED_IMAGE], ids=["nat", "isolated"])
def test_nothing_reaches_the_session_manager_bastion(build, mode):
    edges = find_edges(build({**mode, **SESSION_MANAGER, "database": {}}).resources)
    assert [edge for edge in edges if edge.target == "bastion"] == []
    assert ("bastion", "database", ("5432",)) in {(e.source, e.target, e.ports) for e in edges}


def test_session_manager_outputs_and_port_forwarding(build):
    stack = build({**SESSION_MANAGER, "database": {}})
    instance_id = stack.named("web-bastion").id
    assert stack.output("bastion_public_ip") is None
    session = f"aws ssm start-session --region us-east-1 --target {instance_id}"
    assert stack.output("bastion_ssh_command") == session
    assert stack.output("database_tunnel_command") == (
        f"{session} --document-name AWS-StartPortForwardingSessionToRemoteHost"
        " --parameters host=web-database.abcdefg.us-east-1.rds.amazonaws.com,portNumber=5432,localPortNumber=5432"
    )
    assert build(SESSION_MANAGER).output("database_tunnel_command") is None


def test_session_manager_commands_name_the_stacks_region(build):
    build.mocks.region = "eu-west-1"
    build.mocks.zone_names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    stack = build(SESSION_MANAGER)
    assert stack.output("bastion_ssh_command") == (
        f"aws ssm start-session --region eu-west-1 --target {stack.named('web-bastion').id}"
    )


def test_allowed_cidrs_without_a_key_are_refused(build):
    with pytest.raises(TinyStackArgsError, match=r"Session Manager bastion .* has no inbound rule"):
        build({"bastion": {"allowed_cidrs": ["203.0.113.7/32"]}})


def test_the_ssh_bastion_keeps_its_group_description_and_each_kind_says_what_it_admits(build):
    ssh, session_manager = build({"bastion": BASTION}), build(SESSION_MANAGER)
    # Deployed SSH bastions keep their group: a changed description would replace it.
    assert ssh.named("web-bastion-sg").inputs["description"] == "SSH bastion: port 22 from the allowed CIDRs"
    assert session_manager.named("web-bastion-sg").inputs["description"] == SESSION_MANAGER_BASTION_DESCRIPTION
    for description in (SSH_BASTION_DESCRIPTION, SESSION_MANAGER_BASTION_DESCRIPTION):
        # AWS's character set for group descriptions (no apostrophes).
        assert re.fullmatch(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}", description)


@pytest.mark.parametrize("bastion", [SESSION_MANAGER, {"bastion": BASTION}], ids=["session-manager", "ssh"])
def test_isolated_bastion_waits_for_the_endpoints_only_when_it_uses_them(build, bastion):
    stack = build({**ISOLATED_IMAGE, **bastion})
    dependencies = set(stack.named("web-bastion").options["dependencies"])
    endpoints = {e.urn for e in stack.of_type(T.ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"}
    if bastion is SESSION_MANAGER:
        # Its agent registers through the ssm endpoints at boot; on destroy they go after it.
        assert len(endpoints) == 8 and endpoints <= dependencies
    else:
        # The SSH bastion reaches Systems Manager through the internet gateway.
        assert len(endpoints) == 6 and not endpoints & dependencies


def test_the_bastions_public_address_waits_for_the_internet_gateway(build):
    stack = build({"bastion": BASTION})
    dependencies = stack.named("web-bastion").options["dependencies"]
    assert stack.named("web-igw").urn in dependencies
    assert stack.named("web-public-default-route").urn in dependencies
