"""The app: task definition, ECS service on the cluster's capacity provider, and CPU target-tracking scaling.

The front end (`alb.py` or `api_gateway.py`) hands the service an `Exposure`: where the service registers its tasks.
The database tier hands it a `DatabaseConnection`: environment and secrets for the container.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .compute import Cluster
from .context import LOG_RETENTION_DAYS, StackContext
from .roles import service_role
from .secrets import store_app_secrets
from .validation import Settings

CONTAINER_NAME = "app"
TASK_EXECUTION_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
CPU_TARGET_PERCENT = 60
HEALTH_CHECK_GRACE_SECONDS = 60


@dataclass(frozen=True)
class Exposure:
    """How the front end reaches the tasks."""

    url: pulumi.Output[str]
    load_balancers: Sequence[aws.ecs.ServiceLoadBalancerArgsDict] = ()
    service_registries: Optional[aws.ecs.ServiceServiceRegistriesArgsDict] = None
    depends_on: Sequence[pulumi.Resource] = ()
    load_balancer_dns_name: Optional[pulumi.Output[str]] = None
    api_endpoint: Optional[pulumi.Output[str]] = None


@dataclass(frozen=True)
class DatabaseConnection:
    """What the container needs to reach the database; the secret holds the username and password."""

    host: pulumi.Output[str]
    port: int
    name: str
    secret_arn: pulumi.Output[str]


@dataclass(frozen=True)
class App:
    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    secret_policies: list[aws.iam.RolePolicy] = field(default_factory=list)


def build_app(
    ctx: StackContext,
    settings: Settings,
    cluster: Cluster,
    exposure: Exposure,
    image: pulumi.Input[str],
    region: str,
    database: Optional[DatabaseConnection],
) -> App:
    log_group = aws.cloudwatch.LogGroup(
        ctx.child("app-logs"), retention_in_days=LOG_RETENTION_DAYS, tags=ctx.tags("app-logs"), opts=ctx.opts()
    )
    execution_role = service_role(ctx, "task-execution-role", "ecs-tasks.amazonaws.com", [TASK_EXECUTION_ROLE_POLICY])
    app_secrets = store_app_secrets(ctx, settings.container_secrets)
    secret_policies = []
    if database is not None:
        # The one secret RDS manages for this database.
        secret_policies.append(_allow_reading(ctx, execution_role, "db-secret", [database.secret_arn]))
    if app_secrets:
        secret_policies.append(_allow_reading(ctx, execution_role, "app-secrets", list(app_secrets.values())))
    task_definition = aws.ecs.TaskDefinition(
        ctx.child("task"),
        family=ctx.child("app"),
        requires_compatibilities=["EC2"],
        network_mode="bridge",
        execution_role_arn=execution_role.arn,
        container_definitions=pulumi.Output.json_dumps(
            [_container(settings, image, log_group.name, region, database, app_secrets)]
        ),
        tags=ctx.tags("task"),
        opts=ctx.opts(depends_on=secret_policies),
    )
    service = _service(ctx, settings, cluster, exposure, task_definition)
    _scale_on_cpu(ctx, settings, cluster, service)
    return App(task_definition, service, log_group, execution_role, secret_policies)


def _container(
    settings: Settings,
    image: pulumi.Input[str],
    log_group_name: pulumi.Output[str],
    region: str,
    database: Optional[DatabaseConnection],
    app_secrets: Mapping[str, pulumi.Output[str]],
) -> dict[str, Any]:
    environment = dict(settings.container_environment)
    secrets = [{"name": name, "valueFrom": arn} for name, arn in sorted(app_secrets.items())]
    if database is not None:
        environment |= {"DB_HOST": database.host, "DB_PORT": str(database.port), "DB_NAME": database.name}
        secrets += [
            {"name": "DB_USERNAME", "valueFrom": database.secret_arn.apply(lambda arn: f"{arn}:username::")},
            {"name": "DB_PASSWORD", "valueFrom": database.secret_arn.apply(lambda arn: f"{arn}:password::")},
        ]
    return {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "cpu": settings.container_cpu,
        "memory": settings.container_memory,
        # A static host port equal to the container port: the instance SG opens exactly this one port.
        "portMappings": [
            {"containerPort": settings.container_port, "hostPort": settings.container_port, "protocol": "tcp"}
        ],
        "environment": [{"name": name, "value": value} for name, value in sorted(environment.items())],
        "secrets": secrets,
        # ECS.4
        "privileged": False,
        # ECS.9
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group_name, "awslogs-region": region, "awslogs-stream-prefix": "app"},
        },
    }


def _allow_reading(
    ctx: StackContext, role: aws.iam.Role, what: str, secret_arns: list[pulumi.Output[str]]
) -> aws.iam.RolePolicy:
    # These secrets and nothing else in Secrets Manager.
    return aws.iam.RolePolicy(
        ctx.child(f"task-execution-read-{what}"),
        role=role.id,
        policy=pulumi.Output.all(*secret_arns).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arns}],
                }
            )
        ),
        opts=ctx.opts(),
    )


def _service(
    ctx: StackContext,
    settings: Settings,
    cluster: Cluster,
    exposure: Exposure,
    task_definition: aws.ecs.TaskDefinition,
) -> aws.ecs.Service:
    behind_load_balancer = bool(exposure.load_balancers)
    return aws.ecs.Service(
        ctx.child("service"),
        cluster=cluster.cluster.arn,
        task_definition=task_definition.arn,
        desired_count=settings.instance_count,
        capacity_provider_strategies=[{"capacity_provider": cluster.capacity_provider.name, "weight": 1, "base": 0}],
        ordered_placement_strategies=[
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "spread", "field": "instanceId"},
        ],
        # The host port is static, so two tasks can never share an instance.
        placement_constraints=[{"type": "distinctInstance"}],
        # One task at a time is replaced during a rolling deploy; extra capacity is scaled in on demand.
        # With room for a single instance, the old task must stop before the new one can take its host port.
        deployment_minimum_healthy_percent=0 if settings.max_count == 1 else 50,
        deployment_maximum_percent=200,
        deployment_circuit_breaker={"enable": True, "rollback": True},
        # ECS accepts a grace period only for services behind a load balancer.
        health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS if behind_load_balancer else None,
        load_balancers=list(exposure.load_balancers) or None,
        service_registries=exposure.service_registries,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        tags=ctx.tags("service"),
        # Target tracking owns the running count once the service exists.
        opts=ctx.opts(depends_on=[*exposure.depends_on, cluster.default_strategy], ignore_changes=["desired_count"]),
    )


def _scale_on_cpu(ctx: StackContext, settings: Settings, cluster: Cluster, service: aws.ecs.Service) -> None:
    target = aws.appautoscaling.Target(
        ctx.child("service-scaling-target"),
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster.cluster.name, "/", service.name),
        min_capacity=settings.instance_count,
        max_capacity=settings.max_count,
        tags=ctx.tags("service-scaling-target"),
        opts=ctx.opts(),
    )
    aws.appautoscaling.Policy(
        ctx.child("service-cpu-scaling"),
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": CPU_TARGET_PERCENT,
            "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 60,
        },
        opts=ctx.opts(),
    )
