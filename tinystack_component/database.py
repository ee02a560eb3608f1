"""The data tier: an optional RDS instance in the app subnets, reachable only through its security group.

The master password is created and rotated by RDS in Secrets Manager (`manage_master_user_password`), so it never
appears in the program, its inputs or the state. The instance keeps its name and inputs across every config edit
that does not concern it; `deletion_protection` and the final snapshot guard against the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .args import DatabaseEngine
from .context import StackContext
from .network import Network
from .roles import RDS_ENHANCED_MONITORING, service_role_with_attachments
from .security import SecurityGroups
from .service import DatabaseConnection
from .validation import DatabaseSettings

# Clients must use TLS: each engine has its own switch for it.
FORCE_TLS: dict[DatabaseEngine, aws.rds.ParameterGroupParameterArgsDict] = {
    DatabaseEngine.POSTGRES: {"name": "rds.force_ssl", "value": "1"},
    DatabaseEngine.MYSQL: {"name": "require_secure_transport", "value": "ON"},
}
# Performance Insights (free with 7 days of history) runs on every PostgreSQL class; MySQL's smallest burstable
# classes lack it (RDS user guide, "DB engine, Region, and instance class support for Database Insights").
NO_PERFORMANCE_INSIGHTS = {
    DatabaseEngine.MYSQL: {"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"},
}
FREE_PERFORMANCE_INSIGHTS_DAYS = 7
LOG_EXPORTS = {
    DatabaseEngine.POSTGRES: ["postgresql", "upgrade"],
    DatabaseEngine.MYSQL: ["error", "slowquery"],
}


@dataclass(frozen=True)
class Database:
    instance: aws.rds.Instance
    subnet_group: aws.rds.SubnetGroup
    connection: DatabaseConnection


def parameter_group_family(engine: DatabaseEngine, version: str) -> str:
    """postgres 16.4 → postgres16; mysql 8.0.39 → mysql8.0."""
    parts = version.split(".")
    major = parts[0] if engine is DatabaseEngine.POSTGRES else ".".join(([*parts, "0"])[:2])
    return f"{engine.value}{major}"


def final_snapshot_identifier(subnet_group_name: str) -> str:
    """Named after the DB subnet group, whose name Pulumi suffixes at random when it creates it: stable for the life
    of the stack, and new after a destroy, so a second teardown never collides with the first one's snapshot. RDS
    wants letters, digits and single hyphens, starting with a letter."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", f"{subnet_group_name}-final-snapshot".lower()).strip("-")
    return cleaned if cleaned[:1].isalpha() else f"db-{cleaned}"


def performance_insights(engine: DatabaseEngine, instance_class: str) -> bool:
    return instance_class not in NO_PERFORMANCE_INSIGHTS.get(engine, set())


def _monitoring(ctx: StackContext, settings: DatabaseSettings) -> tuple[dict, list[pulumi.Resource]]:
    """RDS.6 enhanced monitoring, when an interval is given: the OS metrics every N seconds, through its own role.
    Also what the instance waits for: RDS refuses a monitoring role that may not write the metrics yet."""
    if not settings.monitoring_interval:
        return {"monitoring_interval": 0}, []
    role, attachments = service_role_with_attachments(
        ctx, "db-monitoring-role", "monitoring.rds.amazonaws.com", [RDS_ENHANCED_MONITORING]
    )
    return {"monitoring_interval": settings.monitoring_interval, "monitoring_role_arn": role.arn}, list(attachments)


def _performance_insights(settings: DatabaseSettings) -> dict:
    if not performance_insights(settings.engine, settings.instance_class):
        return {"performance_insights_enabled": False}
    return {
        "performance_insights_enabled": True,
        "performance_insights_retention_period": FREE_PERFORMANCE_INSIGHTS_DAYS,
    }


def build_database(ctx: StackContext, settings: DatabaseSettings, network: Network, groups: SecurityGroups) -> Database:
    assert groups.database is not None
    subnet_group = aws.rds.SubnetGroup(
        ctx.child("db-subnets"), subnet_ids=network.app_subnet_ids, tags=ctx.tags("db-subnets"), opts=ctx.opts()
    )
    parameter_group = aws.rds.ParameterGroup(
        ctx.child("db-parameters"),
        family=parameter_group_family(settings.engine, settings.engine_version),
        parameters=[FORCE_TLS[settings.engine]],
        tags=ctx.tags("db-parameters"),
        opts=ctx.opts(),
    )
    monitoring, monitoring_ready = _monitoring(ctx, settings)
    instance = aws.rds.Instance(
        ctx.child("database"),
        engine=settings.engine.value,
        engine_version=settings.engine_version,
        instance_class=settings.instance_class,
        allocated_storage=settings.allocated_storage,
        max_allocated_storage=settings.max_allocated_storage,
        storage_type="gp3",
        db_name=settings.db_name,
        username=settings.username,
        port=settings.port,
        manage_master_user_password=True,
        # kms: the password RDS keeps in Secrets Manager is encrypted with the stack key too.
        master_user_secret_kms_key_id=ctx.encryption_key.arn if ctx.encryption_key is not None else None,
        db_subnet_group_name=subnet_group.name,
        parameter_group_name=parameter_group.name,
        vpc_security_group_ids=[groups.database.id],
        publicly_accessible=False,  # RDS.2, explicit rather than inherited from the subnet group
        storage_encrypted=True,  # RDS.3
        multi_az=settings.multi_az,
        deletion_protection=settings.deletion_protection,  # RDS.8
        backup_retention_period=settings.backup_retention_days,  # RDS.11
        skip_final_snapshot=False,
        final_snapshot_identifier=subnet_group.name.apply(final_snapshot_identifier),
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        enabled_cloudwatch_logs_exports=LOG_EXPORTS[settings.engine],
        **_performance_insights(settings),
        **monitoring,
        tags=ctx.tags("database"),
        # RDS refuses to change the key of the password it manages: the key is chosen once, at creation, and
        # turning kms on or off later leaves the secret on it (the stack keeps the key, encryption.py).
        opts=ctx.opts(ignore_changes=["masterUserSecretKmsKeyId"], depends_on=monitoring_ready),
    )
    secret_arn = instance.master_user_secrets.apply(lambda secrets: secrets[0]["secret_arn"])
    connection = DatabaseConnection(
        host=instance.address, port=settings.port, name=settings.db_name, secret_arn=secret_arn
    )
    return Database(instance, subnet_group, connection)
