"""kms: one customer-managed key for every log group and the app's secrets, usable by CloudWatch Logs."""

import json

import pytest

from tests.conftest import EVERYTHING, VARIANTS, T
from tinystack_component.encryption import key_policy

SECRETS = {"container_secrets": {"API_TOKEN": "s3cr3t"}}


def test_no_key_and_no_log_group_key_by_default(build):
    stack = build(SECRETS)
    assert stack.of_type("aws:kms/key:Key") == []
    assert all(group.inputs.get("kmsKeyId") is None for group in stack.of_type(T.LOG_GROUP))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_log_group_and_secret_is_encrypted_with_the_stack_key(build, variant):
    stack = build({**VARIANTS[variant], **EVERYTHING})
    (key,) = stack.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    groups = stack.of_type(T.LOG_GROUP)
    assert len(groups) >= 2
    for group in groups:
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], group.name
        assert key.urn in group.options["dependencies"], group.name
    (secret,) = stack.of_type("aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == key.outputs["arn"]


def test_the_key_policy_lets_cloudwatch_logs_of_the_region_use_it_for_the_accounts_log_groups(build):
    key = build({"kms": True}).named("web-key")
    account, logs = json.loads(key.inputs["policy"])["Statement"]
    assert account["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:GenerateDataKey*" in logs["Action"] and "kms:Decrypt*" in logs["Action"]
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"}
    }


def test_the_task_may_decrypt_its_secrets_with_the_key(build):
    stack = build({**SECRETS, "kms": True})
    statements = json.loads(stack.named("web-task-execution-read-app-secrets").inputs["policy"])["Statement"]
    assert statements[1] == {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": [stack.named("web-key").outputs["arn"]],
    }


def test_the_database_password_is_encrypted_with_the_key_and_the_task_may_decrypt_it(build):
    stack = build({"database": {}, "kms": True})
    key = stack.named("web-key").outputs["arn"]
    assert stack.named("web-database").inputs["masterUserSecretKmsKeyId"] == key
    statements = json.loads(stack.named("web-task-execution-read-db-secret").inputs["policy"])["Statement"]
    assert statements[1] == DECRYPT_THE_DB_SECRET
    assert "masterUserSecretKmsKeyId" not in build({"database": {}}).named("web-database").inputs


DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf"
# Whatever key encrypts it (RDS keeps the one it was created with), through Secrets Manager, for that secret only.
DECRYPT_THE_DB_SECRET = {
    "Effect": "Allow",
    "Action": "kms:Decrypt",
    "Resource": "arn:aws:kms:us-east-1:123456789012:key/*",
    "Condition": {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN": DB_SECRET,
        }
    },
}


@pytest.mark.parametrize("kms", [True, False])
def test_the_task_may_decrypt_the_database_password_whatever_key_rds_kept(build, kms):
    stack = build({"database": {}, "kms": kms})
    policy = json.loads(stack.named("web-task-execution-read-db-secret").inputs["policy"])
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [DB_SECRET]},
        DECRYPT_THE_DB_SECRET,
    ]


def test_rds_keeps_the_password_key_it_was_created_with_and_the_stack_keeps_that_key(build):
    # RDS cannot change MasterUserSecretKmsKeyId once it manages the password.
    with_database = build({"database": {}, "kms": True})
    assert with_database.named("web-database").options["ignore_changes"] == ["masterUserSecretKmsKeyId"]
    assert with_database.named("web-key").options["retain_on_delete"] is True
    assert build({"kms": True}).named("web-key").options["retain_on_delete"] is False


def test_the_key_policy_names_cloudwatch_logs_in_the_partitions_dns_suffix():
    account, logs = json.loads(key_policy("aws-cn", "123456789012", "cn-north-1", "amazonaws.com.cn"))["Statement"]
    assert account["Principal"] == {"AWS": "arn:aws-cn:iam::123456789012:root"}
    assert logs["Principal"] == {"Service": "logs.cn-north-1.amazonaws.com.cn"}
    condition = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition == "arn:aws-cn:logs:cn-north-1:123456789012:log-group:*"
