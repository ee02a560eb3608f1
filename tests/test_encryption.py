"""kms: one customer-managed key for every log group and the app's secrets, usable by CloudWatch Logs."""

import json

import pytest

from tests.conftest import EVERYTHING, VARIANTS, T

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
    assert statements[1] == {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": [key]}
    assert "masterUserSecretKmsKeyId" not in build({"database": {}}).named("web-database").inputs
