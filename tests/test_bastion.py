"""The optional SSH bastion: key pair, placement, hardening, and the commands it outputs."""

from tests.conftest import BASTION, PUBLIC_KEY, T


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


def test_the_nat_instance_and_bastion_share_one_ami_lookup(build):
    stack = build({"bastion": BASTION})
    names = [i.args["name"] for i in stack.invokes if i.token == "aws:ssm/getParameter:getParameter"]
    assert len(names) == len(set(names))
    assert stack.named("web-bastion").inputs["ami"] == stack.named("web-nat-instance").inputs["ami"]
