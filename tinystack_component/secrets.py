"""The app's secret environment variables, each kept in AWS Secrets Manager.

ECS reads them with the task execution role when a task starts, so the values never appear in the task definition
(where `ecs:DescribeTaskDefinition` would show them) and stay encrypted in Pulumi's state.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from .context import StackContext

# A deleted secret can be restored for this long, in case a config edit removed it by mistake.
RECOVERY_WINDOW_DAYS = 7


def store_app_secrets(ctx: StackContext, values: Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Output[str]]:
    """One secret per variable; returns each variable's secret ARN."""
    arns = {}
    for name, value in sorted(values.items()):
        suffix = f"secret-{name}"
        secret = aws.secretsmanager.Secret(
            ctx.child(suffix),
            description=f"{name} for the {ctx.name} app (TinyStack)",
            recovery_window_in_days=RECOVERY_WINDOW_DAYS,
            kms_key_id=ctx.encryption_key.arn if ctx.encryption_key is not None else None,
            tags=ctx.tags(suffix),
            opts=ctx.opts(),
        )
        aws.secretsmanager.SecretVersion(
            ctx.child(f"{suffix}-value"),
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=ctx.opts(),
        )
        arns[name] = secret.arn
    return arns
