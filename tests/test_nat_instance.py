"""The NAT instance: hardening, placement, routes through its network interface, no replacement on a new AMI."""

import pytest

from tests.conftest import T


def test_every_app_route_targets_the_nat_network_interface(build):
    stack = build()
    nat = stack.named("web-nat-instance")
    for number in (1, 2, 3):
        route = stack.named(f"web-app-{number}-default-route")
        assert route.inputs["routeTableId"] == stack.named(f"web-app-{number}-rt").id
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["networkInterfaceId"] == f"eni-{nat.name}"
        assert "instanceId" not in route.inputs and "natGatewayId" not in route.inputs


def test_nat_instance_is_hardened_and_public(build):
    stack = build()
    nat = stack.named("web-nat-instance")
    assert nat.inputs["sourceDestCheck"] is False
    assert nat.inputs["subnetId"] == stack.named("web-public-1").id
    assert nat.inputs["associatePublicIpAddress"] is True
    assert nat.inputs["metadataOptions"]["httpTokens"] == "required"
    assert nat.inputs["rootBlockDevice"]["encrypted"] is True
    assert nat.inputs["instanceType"] == "t4g.nano"
    assert nat.inputs["vpcSecurityGroupIds"] == [stack.named("web-nat-instance-sg").id]


def test_nat_instance_has_a_stable_elastic_ip(build):
    stack = build()
    eip = stack.named("web-nat-eip")
    assert eip.inputs["instance"] == stack.named("web-nat-instance").id
    assert eip.inputs["domain"] == "vpc"


def test_no_nat_gateway_anywhere(build):
    assert not [r for r in build().resources if r.type == "aws:ec2/natGateway:NatGateway"]


def test_a_new_ami_does_not_replace_the_nat_instance(build):
    assert "ami" in build().named("web-nat-instance").options["ignore_changes"]


@pytest.mark.parametrize(("instance_type", "arch"), [("t4g.nano", "arm64"), ("t3.nano", "x86_64")])
def test_ami_matches_the_architecture(build, instance_type, arch):
    stack = build({"nat_instance_type": instance_type})
    lookups = {i.args["name"] for i in stack.invokes if i.token == "aws:ssm/getParameter:getParameter"}
    assert f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}" in lookups
    nat = stack.named("web-nat-instance")
    assert nat.inputs["ami"] == ("ami-0arm64example000" if arch == "arm64" else "ami-0x8664example000")
    assert nat.inputs["instanceType"] == instance_type


def test_user_data_forwards_and_masquerades_persistently(build):
    user_data = build({"vpc_cidr": "10.8.0.0/16"}).named("web-nat-instance").inputs["userData"]
    assert "dnf install -y iptables-services && break" in user_data, "the install is retried"
    assert "net.ipv4.ip_forward = 1' > /etc/sysctl.d/" in user_data
    assert "ip route show default" in user_data and "eth0" not in user_data
    assert "-s 10.8.0.0/16 -j MASQUERADE" in user_data
    assert "iptables-save > /etc/sysconfig/iptables" in user_data
    assert "systemctl enable --now iptables" in user_data


def test_nat_instance_is_managed_through_ssm_not_ssh(build):
    stack = build()
    attachment = stack.named("web-nat-instance-role-AmazonSSMManagedInstanceCore")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    profile = stack.named("web-nat-instance-profile")
    assert stack.named("web-nat-instance").inputs["iamInstanceProfile"] == profile.outputs["name"]
    assert profile.inputs["role"] == stack.named("web-nat-instance-role").outputs["name"]
    assert not [rule for rule in stack.ingress_to("web-nat-instance-sg") if rule.inputs.get("fromPort") == 22]


def test_isolated_mode_has_no_nat_instance(build):
    stack = build({"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"})
    assert stack.maybe("web-nat-instance") is None and stack.of_type(T.EIP) == []
    assert stack.output("nat_instance_id") is None
