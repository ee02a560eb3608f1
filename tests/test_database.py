"""The optional RDS database: hardening, placement, wiring into the task, no password anywhere."""

import json

import pulumi
import pytest

from tests.conftest import EVERYTHING, ISOLATED, PUBLIC_KEY, T
from tinystack_component import DatabaseEngine
from tinystack_component.database import final_snapshot_identifier, parameter_group_family, performance_insights

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf"


def test_no_database_unless_configured(build):
    stack = build()
    assert stack.of_type(T.RDS_INSTANCE) == [] and stack.maybe("web-database-sg") is None
    for output in ("database_endpoint", "database_port", "database_secret_arn", "database_tunnel_command"):
        assert stack.output(output) is None


@pytest.mark.parametrize(("engine", "version", "port"), [("postgres", "16", 5432), ("mysql", "8.4", 3306)])
def test_database_is_hardened(build, engine, version, port):
    stack = build({"database": {"engine": engine}})
    db = stack.named("web-database").inputs
    assert (db["engine"], db["engineVersion"], db["port"]) == (engine, version, port)
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True
    assert db["manageMasterUserPassword"] is True
    subnet_group_name = stack.named("web-db-subnets").outputs["name"]
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"{subnet_group_name}-final-snapshot"
    assert db["copyTagsToSnapshot"] is True and db["autoMinorVersionUpgrade"] is True
    assert db["deletionProtection"] is True and db["backupRetentionPeriod"] == 7
    assert (db["instanceClass"], db["allocatedStorage"], db["storageType"]) == ("db.t4g.micro", 20, "gp3")
    assert db["maxAllocatedStorage"] > db["allocatedStorage"]
    assert (db["dbName"], db["username"], db["multiAz"]) == ("app", "app", False)
    assert db["enabledCloudwatchLogsExports"]
    assert db["vpcSecurityGroupIds"] == [stack.named("web-database-sg").id]


@pytest.mark.parametrize(
    ("engine", "family", "parameter"),
    [
        ("postgres", "postgres16", {"name": "rds.force_ssl", "value": "1"}),
        ("mysql", "mysql8.4", {"name": "require_secure_transport", "value": "ON"}),
    ],
)
def test_parameter_group_forces_tls(build, engine, family, parameter):
    stack = build({"database": {"engine": engine}})
    group = stack.named("web-db-parameters")
    assert group.inputs["family"] == family
    assert group.inputs["parameters"] == [parameter]
    assert stack.named("web-database").inputs["parameterGroupName"] == group.outputs["name"]


def test_parameter_group_family():
    assert parameter_group_family(DatabaseEngine.POSTGRES, "15.7") == "postgres15"
    assert parameter_group_family(DatabaseEngine.MYSQL, "8.4.3") == "mysql8.4"


def test_final_snapshot_identifier_is_valid_for_rds():
    assert final_snapshot_identifier("web-db-subnets-1a2b3c4") == "web-db-subnets-1a2b3c4-final-snapshot"
    assert final_snapshot_identifier("Web_DB--subnets") == "web-db-subnets-final-snapshot"
    assert final_snapshot_identifier("1st") == "db-1st-final-snapshot"


def test_user_choices_reach_the_instance(build):
    stack = build(
        {
            "database": {
                "instance_class": "db.t4g.small",
                "allocated_storage": 50,
                "max_allocated_storage": 200,
                "multi_az": True,
                "deletion_protection": False,
                "backup_retention_days": 14,
                "db_name": "shop",
                "username": "shop_owner",
                "engine_version": "16.4",
            }
        }
    )
    db = stack.named("web-database").inputs
    assert (db["instanceClass"], db["allocatedStorage"], db["maxAllocatedStorage"]) == ("db.t4g.small", 50, 200)
    assert (db["multiAz"], db["deletionProtection"], db["backupRetentionPeriod"]) == (True, False, 14)
    assert (db["dbName"], db["username"], db["engineVersion"]) == ("shop", "shop_owner", "16.4")


@pytest.mark.parametrize("args", [{}, ISOLATED])
def test_subnet_group_is_exactly_the_app_subnets(build, args):
    stack = build({**args, "database": {}})
    group = stack.named("web-db-subnets")
    assert sorted(group.inputs["subnetIds"]) == sorted(stack.output("private_subnet_ids"))
    assert stack.named("web-database").inputs["dbSubnetGroupName"] == group.outputs["name"]


def test_no_password_input_anywhere(build):
    stack = build(
        {
            "database": {},
            "bastion": {
                "public_key": PUBLIC_KEY,
                "allowed_cidrs": ["203.0.113.7/32"],
            },
        }
    )
    for resource in stack.resources:
        for key in _keys(resource.inputs):
            assert key == "manageMasterUserPassword" or "password" not in key.lower(), (resource.name, key)
    assert stack.named("web-database").inputs["manageMasterUserPassword"] is True


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_task_gets_connection_environment_and_secrets(build):
    stack = build({"database": {"engine": "mysql", "db_name": "shop"}})
    (container,) = stack.container_definitions()
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment == {
        "DB_HOST": stack.named("web-database").outputs["address"],
        "DB_PORT": "3306",
        "DB_NAME": "shop",
    }
    assert container["secrets"] == [
        {"name": "DB_USERNAME", "valueFrom": f"{SECRET_ARN}:username::"},
        {"name": "DB_PASSWORD", "valueFrom": f"{SECRET_ARN}:password::"},
    ]


def test_execution_role_reads_only_that_one_secret(build):
    stack = build({"database": {}})
    grant = stack.named("web-task-execution-read-db-secret")
    assert grant.inputs["role"] == stack.named("web-task-execution-role").id
    statement, decrypt = json.loads(grant.inputs["policy"])["Statement"]
    assert statement == {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [SECRET_ARN]}
    assert decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == SECRET_ARN
    secret_policies = [r for r in stack.of_type(T.ROLE_POLICY) if "secretsmanager" in r.inputs["policy"]]
    assert secret_policies == [grant]
    assert grant.urn in stack.named("web-task").options["dependencies"]


def test_isolated_mode_reads_the_secret_through_the_endpoint(build):
    stack = build({**ISOLATED, "database": {}})
    services = {e.inputs["serviceName"] for e in stack.of_type(T.ENDPOINT)}
    assert "com.amazonaws.us-east-1.secretsmanager" in services
    assert stack.container_definitions()[0]["secrets"]


def test_database_outputs(build):
    stack = build({"database": {}})
    assert stack.output("database_endpoint") == stack.named("web-database").outputs["address"]
    assert stack.output("database_port") == 5432
    assert stack.output("database_secret_arn") == SECRET_ARN


def test_protect_from_the_consumer_reaches_the_database(build):
    stack = build({"database": {}}, opts=pulumi.ResourceOptions(protect=True))
    assert stack.named("web-database").options["protect"] is True
    assert stack.named("web-db-subnets").options["protect"] is True
    assert build({"database": {}}).named("web-database").options["protect"] is False


@pytest.mark.parametrize(
    ("engine", "instance_class", "enabled"),
    [
        (DatabaseEngine.POSTGRES, "db.t4g.micro", True),
        (DatabaseEngine.POSTGRES, "db.t3.small", True),
        (DatabaseEngine.MYSQL, "db.t4g.micro", False),
        (DatabaseEngine.MYSQL, "db.t3.small", False),
        (DatabaseEngine.MYSQL, "db.t4g.medium", True),
    ],
)
def test_performance_insights_runs_where_the_engine_and_class_support_it(engine, instance_class, enabled):
    assert performance_insights(engine, instance_class) is enabled


def test_performance_insights_is_on_with_the_free_retention_by_default(build):
    inputs = build({"database": {}}).named("web-database").inputs
    assert inputs["performanceInsightsEnabled"] is True
    assert inputs["performanceInsightsRetentionPeriod"] == 7
    small_mysql = build({"database": {"engine": "mysql"}}).named("web-database").inputs
    assert small_mysql["performanceInsightsEnabled"] is False
    assert "performanceInsightsRetentionPeriod" not in small_mysql


def test_enhanced_monitoring_is_off_by_default_and_has_its_own_role(build):
    stack = build({"database": {}})
    assert stack.named("web-database").inputs["monitoringInterval"] == 0
    assert stack.maybe("web-db-monitoring-role") is None
    monitored = build(EVERYTHING)
    inputs = monitored.named("web-database").inputs
    role = monitored.named("web-db-monitoring-role")
    assert inputs["monitoringInterval"] == 60 and inputs["monitoringRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    attachment = monitored.named("web-db-monitoring-role-AmazonRDSEnhancedMonitoringRole")
    assert attachment.inputs["role"] == role.outputs["name"]
    # RDS refuses a monitoring role that may not write the metrics yet: the instance waits for the attachment.
    assert attachment.urn in monitored.named("web-database").options["dependencies"]


def test_the_stacks_deletion_protection_is_the_databases(build):
    assert build({"database": {}}).named("web-database").inputs["deletionProtection"] is True
    off = build({"database": {}, "deletion_protection": False}).named("web-database").inputs
    assert off["deletionProtection"] is False
