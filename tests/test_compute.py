"""The ECS cluster, its launch template, Auto Scaling group and capacity provider."""

import base64
import json
import re

import pytest

from tests.conftest import VARIANTS, T
from tests.sandbox import require, run_private


def test_cluster_has_container_insights(build):
    cluster = build().named("web-cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_asg_spans_exactly_the_app_subnets(build, variant):
    stack = build(VARIANTS[variant])
    asg = stack.named("web-asg")
    assert sorted(asg.inputs["vpcZoneIdentifiers"]) == sorted(stack.output("private_subnet_ids"))
    assert asg.inputs["launchTemplate"]["id"] == stack.named("web-container-instances").id


def test_asg_sizes_tags_and_ignores_the_scalers_desired_capacity(build):
    asg = build({"instance_count": 2, "max_count": 5}).named("web-asg")
    assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (2, 2, 5)
    assert asg.inputs["protectFromScaleIn"] is True
    tags = {tag["key"]: tag for tag in asg.inputs["tags"]}
    assert "AmazonECSManaged" in tags and tags["AmazonECSManaged"]["propagateAtLaunch"] is True
    assert "desiredCapacity" in asg.options["ignore_changes"]


def test_default_count_is_three_instances_of_t3_small(build):
    stack = build()
    assert stack.named("web-asg").inputs["desiredCapacity"] == 3
    assert stack.named("web-asg").inputs["maxSize"] == 6
    assert stack.named("web-container-instances").inputs["instanceType"] == "t3.small"


def test_launch_template_is_hardened(build):
    stack = build()
    template = stack.named("web-container-instances")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert interface["securityGroups"] == [stack.named("web-containers-sg").id]
    (volume,) = template.inputs["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] == "true" and volume["ebs"]["volumeType"] == "gp3"


def _read_ecs_config(text: str) -> dict[str, str]:
    """/etc/ecs/ecs.config as the agent gets it: ecs.service loads it as a systemd EnvironmentFile.

    KEY=VALUE per line, blank lines and # or ; comments skipped, one pair of surrounding quotes dropped, the last
    assignment wins; a line that is not a valid assignment is ignored by systemd, so it is an error here."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), f"systemd ignores {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        config[key.strip()] = value
    return config


def test_read_ecs_config_reads_as_systemd_does():
    assert _read_ecs_config("# c\n\nECS_CLUSTER = 'a'\nECS_CLUSTER=b\n;x\n") == {"ECS_CLUSTER": "b"}
    with pytest.raises(AssertionError, match="systemd ignores"):
        _read_ecs_config("#ECS_CLUSTER=a\nECS CLUSTER=b\n")


def test_user_data_joins_the_cluster(build, tmp_path):
    require()
    stack = build()
    user_data = base64.b64decode(stack.named("web-container-instances").inputs["userData"]).decode()
    assert "/etc/ecs/ecs.config" in user_data
    # Run it for real over a private, empty /etc, then read what it left as the agent reads it.
    (tmp_path / "user-data.sh").write_text(user_data)
    driver = tmp_path / "driver.sh"
    driver.write_text(
        "set -eu\nmount --make-rprivate /\nmount -t tmpfs tmpfs /etc\nmkdir /etc/ecs\n"
        f"bash {tmp_path}/user-data.sh\ncp /etc/ecs/ecs.config {tmp_path}/ecs.config\n"
    )
    done = run_private(driver)
    assert done.returncode == 0, done.stderr
    config = _read_ecs_config((tmp_path / "ecs.config").read_text())
    # The app's logs are written with the task execution role: the instance role has no log actions.
    assert config == {
        "ECS_CLUSTER": stack.named("web-cluster").outputs["name"],
        "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": "true",
    }


def test_instance_profile_has_ssm_and_an_ecs_agent_policy_scoped_to_the_cluster(build):
    stack = build()
    policies = {
        a.inputs["policyArn"].rsplit("/", 1)[-1]
        for a in stack.of_type(T.ROLE_POLICY_ATTACHMENT)
        if a.name.startswith("web-container-instance-role")
    }
    assert policies == {"AmazonSSMManagedInstanceCore"}
    agent = stack.named("web-container-instance-ecs-agent")
    assert agent.inputs["role"] == stack.named("web-container-instance-role").outputs["name"]
    cluster_arn = stack.named("web-cluster").outputs["arn"]
    join, talk, find = json.loads(agent.inputs["policy"])["Statement"]
    assert join["Resource"] == cluster_arn and "ecs:RegisterContainerInstance" in join["Action"]
    assert talk["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn}}
    assert set(talk["Action"]) == {"ecs:Poll", "ecs:StartTelemetrySession"}
    assert set(find["Action"]) == {"ecs:DiscoverPollEndpoint", "ecr:GetAuthorizationToken"}
    assert "ecs:CreateCluster" not in json.dumps(agent.inputs["policy"])
    assert agent.urn in stack.named("web-container-instances").options["dependencies"]
    profile = stack.named("web-container-instance-profile")
    assert stack.named("web-container-instances").inputs["iamInstanceProfile"]["arn"].endswith(profile.name)


@pytest.mark.parametrize(
    ("instance_type", "parameter"),
    [
        ("t3.small", "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"),
        ("m7g.large", "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"),
        ("t4g.medium", "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"),
    ],
)
def test_ecs_optimized_ami_matches_the_architecture(build, instance_type, parameter):
    stack = build({"instance_type": instance_type})
    assert parameter in {i.args["name"] for i in stack.invokes if i.token == "aws:ssm/getParameter:getParameter"}
    expected = "ami-0arm64example000" if "arm64" in parameter else "ami-0x8664example000"
    assert stack.named("web-container-instances").inputs["imageId"] == expected


def test_capacity_provider_manages_scaling_and_termination_and_is_the_default(build):
    stack = build({"max_count": 8})
    provider = stack.named("web-capacity-provider")
    group = provider.inputs["autoScalingGroupProvider"]
    assert group["autoScalingGroupArn"].endswith(":web-asg")
    assert group["managedTerminationProtection"] == "ENABLED"
    assert group["managedScaling"]["status"] == "ENABLED"
    assert group["managedScaling"]["maximumScalingStepSize"] == 8
    defaults = stack.named("web-cluster-capacity-providers")
    assert defaults.inputs["clusterName"] == stack.named("web-cluster").outputs["name"]
    assert defaults.inputs["defaultCapacityProviderStrategies"][0]["capacityProvider"] == provider.outputs["name"]
