"""The stack's customer-managed KMS key (kms: true), for its log groups and the app's secrets.

Its policy keeps the account in charge (so IAM policies decide who else may use it) and lets CloudWatch Logs of
this region use it for this account's log groups only, as the CloudWatch Logs guide requires.
"""

from __future__ import annotations

import json

import pulumi_aws as aws

from .context import StackContext

KEY_DELETION_WINDOW_DAYS = 30
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


def key_policy(partition: str, account: str, region: str, dns_suffix: str = "amazonaws.com") -> str:
    logs_arn = f"arn:{partition}:logs:{region}:{account}:log-group:*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                    "Action": LOGS_KEY_ACTIONS,
                    "Resource": "*",
                    "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
                },
            ],
        }
    )


def build_stack_key(ctx: StackContext, region: str, *, retain: bool) -> aws.kms.Key:
    """`retain` (a stack with a database): turning kms off leaves the key in the account, since the password RDS
    manages stays encrypted with it; schedule its deletion by hand once the database is gone."""
    identity = aws.get_caller_identity(opts=ctx.invoke_opts())
    partition = aws.get_partition(opts=ctx.invoke_opts())
    key = aws.kms.Key(
        ctx.child("key"),
        description=f"Log groups and app secrets of the {ctx.name} TinyStack",
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=key_policy(partition.partition, identity.account_id, region, partition.dns_suffix),
        tags=ctx.tags("key"),
        opts=ctx.opts(retain_on_delete=retain),
    )
    return key
