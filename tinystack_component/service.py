"""The app: task definition, ECS service on the cluster's capacity provider, and CPU target-tracking scaling.

The front end (`alb.py` or `api_gateway.py`) hands the service an `Exposure`: where the service registers its tasks.
The database tier hands it a `DatabaseConnection`: environment and secrets for the container.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .compute import Cluster
from .context import StackContext
from .image import AppImage, ecr_repository_arn
from .logs import log_group
from .roles import service_role
from .secrets import store_app_secrets
from .validation import PRIVATE_ECR_IMAGE, Settings

CONTAINER_NAME = "app"
# ECS.5: nginx (the default image) writes its cache, its pid file and temporary files; nothing else needs writing.
SCRATCH_PATHS_MIB = {"/tmp": 64, "/var/run": 1, "/var/cache/nginx": 64}
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
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
    image: AppImage,
    region: str,
    database: Optional[DatabaseConnection],
    endpoints: Sequence[aws.ec2.VpcEndpoint] = (),
) -> App:
    """`endpoints`: the isolated stack's interface endpoints, which tasks need to pull, log and read secrets."""
    app_log_group = log_group(ctx, "app-logs")
    execution_role = service_role(ctx, "task-execution-role", "ecs-tasks.amazonaws.com")
    # In place of AmazonECSTaskExecutionRolePolicy, whose log actions reach every log group of the account.
    execution_policy = aws.iam.RolePolicy(
        ctx.child("task-execution-policy"),
        role=execution_role.id,
        policy=pulumi.Output.all(app_log_group.arn, image.repository_arn).apply(
            lambda values: _execution_policy(*values)
        ),
        opts=ctx.opts(),
    )
    app_secrets = store_app_secrets(ctx, settings.container_secrets)
    secret_policies = []
    key_arns = [ctx.encryption_key.arn] if ctx.encryption_key is not None else []
    if database is not None:
        # The one secret RDS manages for this database, with whatever key encrypts it: RDS keeps the key it was
        # created with (kms turned on or off later leaves it on that one), so the grant names the secret, not a key.
        secret_policies.append(_allow_reading(ctx, execution_role, "db-secret", [database.secret_arn], by_secret=True))
    if app_secrets:
        secret_policies.append(
            _allow_reading(ctx, execution_role, "app-secrets", list(app_secrets.values()), key_arns=key_arns)
        )
    task_definition = aws.ecs.TaskDefinition(
        ctx.child("task"),
        family=ctx.child("app"),
        requires_compatibilities=["EC2"],
        network_mode="bridge",
        execution_role_arn=execution_role.arn,
        container_definitions=pulumi.Output.json_dumps(
            [_container(settings, image.uri, app_log_group.name, region, database, app_secrets)]
        ),
        tags=ctx.tags("task"),
        # A task started before its role may pull, log and read secrets fails, and the deployment with it.
        opts=ctx.opts(depends_on=[execution_policy, *secret_policies]),
    )
    service = _service(ctx, settings, cluster, exposure, task_definition, endpoints)
    _scale_on_cpu(ctx, settings, cluster, service)
    return App(task_definition, service, app_log_group, execution_role, secret_policies)


def _execution_policy(log_group_arn: str, repository: Optional[str]) -> str:
    """Write its own log streams; pull from the image's ECR repository, if it has one."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }
    ]
    if repository is not None:
        statements += [
            # GetAuthorizationToken takes no resource.
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": ECR_PULL_ACTIONS, "Resource": repository},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def app_image(image: pulumi.Input[str]) -> AppImage:
    """A given image: pulled from its private ECR repository, any repository when it is an Output known only at
    deploy time, or from a public registry (no ECR permission)."""
    if not isinstance(image, str):
        return AppImage(image, "*")
    return AppImage(image, ecr_repository_arn(image) if PRIVATE_ECR_IMAGE.match(image) else None)


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
        **_root_filesystem(settings.read_only_root_filesystem),
        # ECS.9
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group_name, "awslogs-region": region, "awslogs-stream-prefix": "app"},
        },
    }


def _root_filesystem(read_only: bool) -> dict[str, Any]:
    if not read_only:
        return {"readonlyRootFilesystem": False}
    tmpfs = [{"containerPath": path, "size": size} for path, size in SCRATCH_PATHS_MIB.items()]
    return {"readonlyRootFilesystem": True, "linuxParameters": {"tmpfs": tmpfs}}


def _allow_reading(
    ctx: StackContext,
    role: aws.iam.Role,
    what: str,
    secret_arns: list[pulumi.Output[str]],
    key_arns: Sequence[pulumi.Output[str]] = (),
    by_secret: bool = False,
) -> aws.iam.RolePolicy:
    # These secrets and nothing else in Secrets Manager; the stack's key only to decrypt them.
    def document(arns: list[str]) -> str:
        secrets, keys = arns[: len(secret_arns)], arns[len(secret_arns) :]
        statements = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets}]
        if keys:
            statements.append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": keys})
        if by_secret:
            statements += [_decrypt_through_secrets_manager(arn) for arn in secrets]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    return aws.iam.RolePolicy(
        ctx.child(f"task-execution-read-{what}"),
        role=role.id,
        policy=pulumi.Output.all(*secret_arns, *key_arns).apply(document),
        opts=ctx.opts(),
    )


def _decrypt_through_secrets_manager(secret_arn: str) -> dict[str, Any]:
    """kms:Decrypt with any key of the account, only through Secrets Manager and only for this secret (its ARN is
    the encryption context Secrets Manager passes to KMS)."""
    _, partition, _, region, account, *_ = secret_arn.split(":")
    dns_suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"secretsmanager.{region}.{dns_suffix}",
                "kms:EncryptionContext:SecretARN": secret_arn,
            }
        },
    }


def _service(
    ctx: StackContext,
    settings: Settings,
    cluster: Cluster,
    exposure: Exposure,
    task_definition: aws.ecs.TaskDefinition,
    endpoints: Sequence[aws.ec2.VpcEndpoint],
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
        # Target tracking owns the running count once the service exists. Isolated: tasks start only once the
        # endpoints answer, and the endpoints outlive the service's draining on destroy or a nat toggle.
        opts=ctx.opts(
            depends_on=[*exposure.depends_on, cluster.default_strategy, *endpoints], ignore_changes=["desired_count"]
        ),
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
