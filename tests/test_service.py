"""The task definition, the ECS service and its CPU scaling."""

import json

import pulumi
import pytest

from tests.conftest import API_GATEWAY, ISOLATED, VARIANTS


def test_container_uses_a_static_host_port_equal_to_the_container_port(build):
    (container,) = build({"container_port": 8080}).container_definitions()
    assert container["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]


def test_task_definition_runs_on_ec2_in_bridge_mode(build):
    stack = build()
    task = stack.named("web-task")
    assert task.inputs["requiresCompatibilities"] == ["EC2"] and task.inputs["networkMode"] == "bridge"
    assert task.inputs["executionRoleArn"].endswith(":web-task-execution-role")
    assert stack.maybe("web-task-execution-role-AmazonECSTaskExecutionRolePolicy") is None
    (statement,) = json.loads(stack.named("web-task-execution-policy").inputs["policy"])["Statement"]
    log_group = stack.named("web-app-logs").outputs["arn"]
    assert statement["Resource"] == [log_group, f"{log_group}:*"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert stack.named("web-task-execution-policy").urn in task.options["dependencies"]


def test_a_private_ecr_image_is_pulled_from_its_repository_only(build):
    stack = build({"container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1"})
    _, token, pull = json.loads(stack.named("web-task-execution-policy").inputs["policy"])["Statement"]
    assert token == {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/app"


def test_the_default_image_runs_on_a_read_only_root_with_nginx_scratch_paths(build):
    (container,) = build().container_definitions()
    assert container["readonlyRootFilesystem"] is True
    paths = {mount["containerPath"] for mount in container["linuxParameters"]["tmpfs"]}
    assert paths == {"/tmp", "/var/run", "/var/cache/nginx"}
    (writable,) = build({"read_only_root_filesystem": False}).container_definitions()
    assert writable["readonlyRootFilesystem"] is False and "linuxParameters" not in writable
    # Isolated mode always runs an image of the user's own, whose writes are unknown: writable unless asked.
    (isolated,) = build(ISOLATED).container_definitions()
    assert isolated["readonlyRootFilesystem"] is False and "linuxParameters" not in isolated


def test_container_is_unprivileged_logged_and_sized(build):
    stack = build({"container_cpu": 256, "container_memory": 768, "container_image": "nginx:1.27"})
    (container,) = stack.container_definitions()
    assert container["image"] == "nginx:1.27"
    assert container["privileged"] is False
    assert (container["cpu"], container["memory"]) == (256, 768)
    log = container["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["awslogs-group"] == stack.named("web-app-logs").outputs["name"]
    assert log["options"]["awslogs-region"] == "us-east-1"
    assert 0 < stack.named("web-app-logs").inputs["retentionInDays"] <= 365


def test_container_environment_is_passed_through(build):
    (container,) = build({"container_environment": {"MODE": "prod", "FEATURE_X": "on"}}).container_definitions()
    assert container["environment"] == [{"name": "FEATURE_X", "value": "on"}, {"name": "MODE", "value": "prod"}]
    assert container["secrets"] == []


def test_secret_environment_values_keep_the_task_definition_secret(build):
    plain = build({"container_environment": {"MODE": "prod"}}).named("web-task")
    assert "containerDefinitions" not in plain.options["secret_inputs"]
    task = build({"container_environment": {"API_KEY": pulumi.Output.secret("s3cr3t")}}).named("web-task")
    assert "containerDefinitions" in task.options["secret_inputs"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_service_spreads_over_zones_then_instances(build, variant):
    stack = build(VARIANTS[variant])
    service = stack.named("web-service")
    assert service.inputs["orderedPlacementStrategies"] == [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "spread", "field": "instanceId"},
    ]
    assert service.inputs["placementConstraints"] == [{"type": "distinctInstance"}]
    assert service.inputs["desiredCount"] == 3
    assert service.inputs["deploymentMinimumHealthyPercent"] < 100
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (
        service.inputs["capacityProviderStrategies"][0]["capacityProvider"]
        == stack.named("web-capacity-provider").outputs["name"]
    )
    assert service.inputs["cluster"] == stack.named("web-cluster").outputs["arn"]
    assert service.inputs["taskDefinition"] == stack.named("web-task").outputs["arn"]
    assert "desiredCount" in service.options["ignore_changes"]


def test_alb_service_registers_in_the_target_group_after_the_listener(build):
    stack = build()
    service = stack.named("web-service")
    assert service.inputs["loadBalancers"] == [
        {"targetGroupArn": stack.named("web-targets").outputs["arn"], "containerName": "app", "containerPort": 80}
    ]
    assert service.inputs["healthCheckGracePeriodSeconds"] > 0
    assert stack.named("web-listener-80").urn in service.options["dependencies"]


def test_api_gateway_service_registers_in_cloud_map(build):
    stack = build({**API_GATEWAY, "container_port": 3000})
    service = stack.named("web-service")
    assert service.inputs["serviceRegistries"] == {
        "registryArn": stack.named("web-discovery").outputs["arn"],
        "containerName": "app",
        "containerPort": 3000,
    }
    assert "loadBalancers" not in service.inputs
    assert "healthCheckGracePeriodSeconds" not in service.inputs


def test_service_scales_on_cpu_between_instance_count_and_max_count(build):
    stack = build({"instance_count": 2, "max_count": 7})
    target = stack.named("web-service-scaling-target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 7)
    cluster_name, service_name = stack.named("web-cluster").outputs["name"], stack.named("web-service").outputs["name"]
    assert target.inputs["resourceId"] == f"service/{cluster_name}/{service_name}"
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    policy = stack.named("web-service-cpu-scaling")
    configuration = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert configuration["targetValue"] == 60
    assert configuration["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert policy.inputs["resourceId"] == target.inputs["resourceId"]
    assert stack.named("web-asg").inputs["maxSize"] == 7


def test_outputs(build):
    stack = build()
    assert stack.output("cluster_name") == stack.named("web-cluster").outputs["name"]
    assert stack.output("service_name") == stack.named("web-service").outputs["name"]
    assert stack.named("web-service").inputs["cluster"] == stack.named("web-cluster").outputs["arn"]


def test_no_secret_policy_without_a_database(build):
    stack = build()
    assert stack.maybe("web-task-execution-read-db-secret") is None
    assert json.loads(stack.named("web-task").inputs["containerDefinitions"])[0]["secrets"] == []


def test_a_single_instance_stack_can_still_deploy(build):
    service = build({"instance_count": 1, "max_count": 1}).named("web-service")
    assert service.inputs["deploymentMinimumHealthyPercent"] == 0
    assert build({"instance_count": 1}).named("web-service").inputs["deploymentMinimumHealthyPercent"] == 50


def test_secret_variables_live_in_secrets_manager_not_in_the_task_definition(build):
    stack = build({"container_secrets": {"API_KEY": "s3cr3t"}, "container_environment": {"MODE": "prod"}})
    secret = stack.named("web-secret-API_KEY")
    version = stack.named("web-secret-API_KEY-value")
    assert version.inputs["secretId"] == secret.id
    assert version.inputs["secretString"] == "s3cr3t"
    assert "secretString" in version.options["secret_inputs"]
    (container,) = stack.container_definitions()
    assert container["secrets"] == [{"name": "API_KEY", "valueFrom": secret.outputs["arn"]}]
    assert container["environment"] == [{"name": "MODE", "value": "prod"}]
    assert "s3cr3t" not in stack.named("web-task").inputs["containerDefinitions"]
    grant = stack.named("web-task-execution-read-app-secrets")
    (statement,) = json.loads(grant.inputs["policy"])["Statement"]
    assert statement["Resource"] == [secret.outputs["arn"]]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert grant.urn in stack.named("web-task").options["dependencies"]


def test_no_secrets_manager_without_secret_variables(build):
    stack = build()
    assert not [r for r in stack.resources if r.type.startswith("aws:secretsmanager")]
