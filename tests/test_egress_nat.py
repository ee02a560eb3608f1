"""NAT egress under mocks: static interface, Elastic IP, Auto Scaling group of one, launch template, IAM, routes."""

import base64
import json

import pytest

from tests.conftest import ISOLATED, T

ENI = "aws:ec2/networkInterface:NetworkInterface"


def test_every_app_route_targets_the_static_interface(build):
    stack = build()
    eni = stack.named("web-nat-eni")
    for number in (1, 2, 3):
        route = stack.named(f"web-app-{number}-default-route")
        assert route.inputs["routeTableId"] == stack.named(f"web-app-{number}-rt").id
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["networkInterfaceId"] == eni.id
        assert "instanceId" not in route.inputs and "natGatewayId" not in route.inputs


def test_the_static_interface_forwards_in_the_public_subnet_with_the_nat_group(build):
    stack = build()
    eni = stack.named("web-nat-eni")
    assert eni.inputs["sourceDestCheck"] is False
    assert eni.inputs["subnetId"] == stack.named("web-public-1").id
    assert eni.inputs["securityGroups"] == [stack.named("web-nat-instance-sg").id]


def test_the_elastic_ip_belongs_to_the_interface_and_waits_for_the_internet_gateway(build):
    stack = build()
    eip = stack.named("web-nat-eip")
    assert eip.inputs["networkInterface"] == stack.named("web-nat-eni").id
    assert eip.inputs["domain"] == "vpc"
    assert "instance" not in eip.inputs
    depends = set(eip.options["dependencies"])
    assert {stack.named("web-igw").urn, stack.named("web-public-default-route").urn} <= depends
    assert stack.output("nat_public_ips") == ["198.51.100.20"]


def test_no_nat_instance_resource_and_no_nat_gateway(build):
    stack = build()
    assert stack.of_type(T.INSTANCE) == []
    assert not [r for r in stack.resources if r.type == "aws:ec2/natGateway:NatGateway"]


def test_one_instance_in_the_public_subnet_rolled_launch_before_terminate(build):
    stack = build()
    group = stack.named("web-nat-asg")
    assert group.inputs["vpcZoneIdentifiers"] == [stack.named("web-public-1").id]
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"]) == (1, 1)
    assert group.inputs["launchTemplate"]["id"] == stack.named("web-nat-launch-template").id
    assert group.inputs["healthCheckType"] == "EC2"
    refresh = group.inputs["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    assert (refresh["preferences"]["minHealthyPercentage"], refresh["preferences"]["maxHealthyPercentage"]) == (
        100,
        200,
    )
    assert group.inputs["instanceMaintenancePolicy"] == {"minHealthyPercentage": 100, "maxHealthyPercentage": 200}
    assert not group.options.get("ignore_changes")


def test_launch_template_is_hardened_and_uses_the_nat_group_and_profile(build):
    stack = build()
    template = stack.named("web-nat-launch-template")
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["securityGroups"] == [stack.named("web-nat-instance-sg").id]
    assert interface["deviceIndex"] == 0
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = template.inputs["blockDeviceMappings"]
    assert root["ebs"] == {"volumeSize": 8, "volumeType": "gp3", "encrypted": "true"}
    assert template.inputs["iamInstanceProfile"]["arn"] == stack.named("web-nat-instance-profile").outputs["arn"]
    assert template.inputs["tags"]["TinyStackNatInterface"] == stack.named("web-nat-eni").id
    assert not template.options.get("ignore_changes"), "a new AMI must give a new version"


@pytest.mark.parametrize(("instance_type", "arch"), [("t4g.nano", "arm64"), ("t3.nano", "x86_64")])
def test_ami_comes_from_the_ssm_parameter_for_the_architecture(build, instance_type, arch):
    stack = build({"nat_instance_type": instance_type})
    lookups = [i for i in stack.invokes if i.token == "aws:ssm/getParameter:getParameter"]
    names = {i.args["name"] for i in lookups}
    assert f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}" in names
    template = stack.named("web-nat-launch-template")
    assert template.inputs["imageId"] == ("ami-0arm64example000" if arch == "arm64" else "ami-0x8664example000")
    assert template.inputs["instanceType"] == instance_type


@pytest.mark.parametrize(("instance_type", "credits"), [("t4g.nano", {"cpuCredits": "standard"}), ("c7g.medium", None)])
def test_a_burstable_nat_never_bills_surplus_cpu_credits(build, instance_type, credits):
    """T4g defaults to unlimited mode; a NAT must not run up surplus credits. Non-burstable types take none."""
    template = build({"nat_instance_type": instance_type}).named("web-nat-launch-template")
    assert template.inputs.get("creditSpecification") == credits


def test_user_data_is_the_boot_script_with_the_stacks_values(build):
    stack = build({"vpc_cidr": "10.8.0.0/16"})
    script = base64.b64decode(stack.named("web-nat-launch-template").inputs["userData"]).decode()
    assert script.startswith("#!/bin/bash\n")
    assert f'NAT_ENI_ID="{stack.named("web-nat-eni").id}"' in script
    assert 'NAT_VPC_CIDR="10.8.0.0/16"' in script
    assert f'NAT_LOG_GROUP="{stack.named("web-nat-boot-log").outputs["name"]}"' in script
    assert "# @config@" not in script
    assert "set-instance-health" in script and "eth0" not in script


EC2_USER_DATA_LIMIT = 16384  # bytes, of the raw user data before base64 (EC2 refuses a launch above it)


@pytest.mark.parametrize("args", [{}, {"nat_high_availability": True}])
def test_the_nat_user_data_fits_ec2s_limit(build, args):
    stack = build(args)
    for template in stack.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        if "TinyStackNatInterface" in template.inputs["tags"]:
            raw = base64.b64decode(template.inputs["userData"])
            assert len(raw) < EC2_USER_DATA_LIMIT, f"{template.name}: {len(raw)} bytes"


def test_boot_log_has_finite_retention(build):
    stack = build()
    assert stack.named("web-nat-boot-log").inputs["retentionInDays"] == 30
    assert stack.output("nat_boot_log_group") == stack.named("web-nat-boot-log").outputs["name"]


def group_arn_pattern(name):
    return f"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/{name}"


@pytest.mark.parametrize("args", [{}, {"nat_high_availability": True}])
def test_each_nat_group_boots_after_its_permissions_and_its_elastic_ip(build, args):
    """The policy names the groups before they exist, so the first instance never boots without permissions."""
    stack = build(args)
    policy = stack.named("web-nat-instance-policy")
    groups = [r for r in stack.of_type("aws:autoscaling/group:Group") if r.name.startswith("web-nat")]
    assert len(groups) == (3 if args else 1)
    for group in groups:
        eip = stack.named(group.name.replace("-asg", "-eip"))
        assert {policy.urn, eip.urn} <= set(group.options["dependencies"]), group.name
        assert group.urn not in policy.options["dependencies"]
    names = [group.inputs["name"] for group in groups]
    assert stack.named("web-nat-asg").inputs["name"] == "tinystack-test-web-nat-asg"
    assert len(set(names)) == len(names)
    assert sorted(group_arn_pattern(name) for name in names) == sorted(_statements(stack)["MarkUnhealthy"]["Resource"])


def test_the_nat_tag_tells_the_stacks_of_one_project_apart():
    """dev and prod of one project name their component alike: the tag value (IAM's ModifyNetworkInterfaceAttribute
    condition) and the group names must still differ, and stay within AWS's 255/256-character limits."""
    from types import SimpleNamespace
    from unittest import mock

    from tinystack_component.egress.nat import stack_identity

    ctx = SimpleNamespace(name="shop", child=lambda suffix: f"shop-{suffix}")
    seen = set()
    for stack in ("dev", "prod", "p" * 300):
        with mock.patch("pulumi.get_project", return_value="shop"), mock.patch("pulumi.get_stack", return_value=stack):
            seen.add(stack_identity(ctx))
            assert len(stack_identity(ctx, "nat-asg")) <= 255
    assert len(seen) == 3 and "shop-dev-shop" in seen


def test_nat_group_names_are_stable_across_config_edits(build):
    before = build().named("web-nat-asg").inputs["name"]
    after = build({"nat_high_availability": True, "nat_instance_type": "t4g.micro"}).named("web-nat-asg")
    assert after.inputs["name"] == before


def _statements(stack):
    return {s["Sid"]: s for s in json.loads(stack.named("web-nat-instance-policy").inputs["policy"])["Statement"]}


def test_iam_writes_only_on_the_stacks_interfaces_groups_instances_and_log(build):
    stack = build()
    statements = _statements(stack)
    assert (
        stack.named("web-nat-instance-policy").inputs["role"] == stack.named("web-nat-instance-profile").inputs["role"]
    )
    assert statements["MoveTheStaticInterfaces"]["Resource"] == [stack.named("web-nat-eni").outputs["arn"]]
    assert set(statements["MoveTheStaticInterfaces"]["Action"]) == {
        "ec2:AttachNetworkInterface",
        "ec2:DetachNetworkInterface",
    }
    nat_profile = {"ArnEquals": {"ec2:InstanceProfile": stack.named("web-nat-instance-profile").outputs["arn"]}}
    attach = statements["AttachToItselfOnly"]
    assert (attach["Action"], attach["Resource"]) == ("ec2:AttachNetworkInterface", "${ec2:SourceInstanceARN}")
    assert attach["Condition"] == nat_profile
    detach = statements["DetachFromNatInstancesOnly"]
    assert detach["Action"] == "ec2:DetachNetworkInterface"
    assert detach["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"
    assert detach["Condition"] == nat_profile
    assert statements["MarkUnhealthy"] == {
        "Sid": "MarkUnhealthy",
        "Effect": "Allow",
        "Action": "autoscaling:SetInstanceHealth",
        "Resource": [group_arn_pattern(stack.named("web-nat-asg").inputs["name"])],
    }
    log_arn = stack.named("web-nat-boot-log").outputs["arn"]
    assert statements["ShipTheBootLog"]["Resource"] == [log_arn, f"{log_arn}:*"]
    release = statements["ReleaseTheLaunchAddress"]
    assert release["Condition"] == {"StringEquals": {"aws:ResourceTag/TinyStackNat": "tinystack-test-web"}}
    (*_, primary) = stack.named("web-nat-launch-template").inputs["tagSpecifications"]
    assert primary["resourceType"] == "network-interface"
    assert primary["tags"]["TinyStackNat"] == "tinystack-test-web"
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Resource"] == "*":
            assert all(":Describe" in action for action in actions), statement


def test_nat_is_managed_through_ssm_not_ssh(build):
    stack = build()
    attachment = stack.named("web-nat-instance-role-AmazonSSMManagedInstanceCore")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert not [rule for rule in stack.ingress_to("web-nat-instance-sg") if rule.inputs.get("fromPort") == 22]


def test_nat_rules_say_who_may_reach_whom(build):
    stack = build()
    for name in (
        "web-allow-vpc-to-nat-instance-all-in",
        "web-allow-nat-instance-to-internet-all-out",
        "web-allow-containers-to-internet-all-out",
    ):
        assert len(stack.named(name).inputs["description"]) > 20, name


def test_isolated_mode_has_no_nat(build):
    stack = build(ISOLATED)
    assert stack.of_type(ENI) == [] and stack.of_type(T.EIP) == []
    assert stack.maybe("web-nat-asg") is None
    assert stack.output("nat_public_ips") == [] and stack.output("nat_boot_log_group") is None


HA = {"nat_high_availability": True}


def test_high_availability_puts_a_nat_in_every_az(build):
    stack = build(HA)
    for number, suffix in ((1, "nat"), (2, "nat-2"), (3, "nat-3")):
        public = stack.named(f"web-public-{number}")
        eni = stack.named(f"web-{suffix}-eni")
        assert eni.inputs["subnetId"] == public.id
        assert eni.inputs["sourceDestCheck"] is False
        assert stack.named(f"web-{suffix}-eip").inputs["networkInterface"] == eni.id
        group = stack.named(f"web-{suffix}-asg")
        assert group.inputs["vpcZoneIdentifiers"] == [public.id]
        template = stack.named(f"web-{suffix}-launch-template")
        assert group.inputs["launchTemplate"]["id"] == template.id
        assert template.inputs["tags"]["TinyStackNatInterface"] == eni.id
        route = stack.named(f"web-app-{number}-default-route")
        assert route.inputs["networkInterfaceId"] == eni.id, "each AZ's app routes go to its own AZ's NAT"
    assert len(stack.of_type(ENI)) == 3 and len(stack.of_type(T.EIP)) == 3
    assert len(stack.output("nat_public_ips")) == 3


def test_the_nats_own_the_default_routes_after_creation(build):
    for args in ({}, HA):
        for number in (1, 2, 3):
            route = build(args).named(f"web-app-{number}-default-route")
            assert route.options["ignore_changes"] == ["networkInterfaceId"]


def test_each_watchdog_knows_its_peers_and_which_routes_it_owns(build):
    stack = build(HA)
    addresses = [stack.named(f"web-{s}-eni").outputs["privateIp"] for s in ("nat", "nat-2", "nat-3")]
    tables = [stack.named(f"web-app-{n}-rt").id for n in (1, 2, 3)]
    script = base64.b64decode(stack.named("web-nat-2-launch-template").inputs["userData"]).decode()
    assert 'NAT_INDEX="2"' in script
    assert f'NAT_PEERS="1:{addresses[0]} 2:{addresses[1]} 3:{addresses[2]}"' in script
    assert f'NAT_ROUTES="{tables[0]}:1 {tables[1]}:2 {tables[2]}:3"' in script
    single = base64.b64decode(build().named("web-nat-launch-template").inputs["userData"]).decode()
    assert f'NAT_ROUTES="{tables[0]}:1 {tables[1]}:1 {tables[2]}:1"' in single


def test_ha_iam_replaces_routes_only_in_the_app_route_tables(build):
    stack = build(HA)
    statements = _statements(stack)
    assert statements["OwnTheAppDefaultRoutes"]["Action"] == "ec2:ReplaceRoute"
    assert statements["OwnTheAppDefaultRoutes"]["Resource"] == [
        stack.named(f"web-app-{n}-rt").outputs["arn"] for n in (1, 2, 3)
    ]
    assert set(statements["MoveTheStaticInterfaces"]["Resource"]) == {
        stack.named(f"web-{s}-eni").outputs["arn"] for s in ("nat", "nat-2", "nat-3")
    }
    assert set(statements["MarkUnhealthy"]["Resource"]) == {
        group_arn_pattern(stack.named(f"web-{s}-asg").inputs["name"]) for s in ("nat", "nat-2", "nat-3")
    }
    assert "ec2:DescribeRouteTables" in statements["ReadInterfacesAndRoutes"]["Action"]
