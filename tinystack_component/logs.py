"""Every CloudWatch log group of the stack, made one way: finite retention, and the stack's KMS key when kms is on.

A tier that needs a log group calls `log_group(ctx, suffix)`; nothing else creates one.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from .context import LOG_RETENTION_DAYS, StackContext


def log_group(ctx: StackContext, suffix: str, **options: Any) -> aws.cloudwatch.LogGroup:
    """A log group named after the component, kept LOG_RETENTION_DAYS days; `options` are resource options."""
    key = ctx.encryption_key
    return aws.cloudwatch.LogGroup(
        ctx.child(suffix),
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=key.arn if key is not None else None,
        tags=ctx.tags(suffix),
        # CloudWatch Logs checks the key policy when the group is created: the policy must exist first.
        opts=ctx.opts(**options) if key is None else ctx.opts(depends_on=[key], **options),
    )
