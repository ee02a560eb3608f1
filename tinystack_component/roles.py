"""IAM roles and instance profiles, each trusted by one AWS service and given only the named managed policies."""

import json
from collections.abc import Sequence

import pulumi_aws as aws

from .context import StackContext

SSM_MANAGED_INSTANCE_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def service_role(ctx: StackContext, suffix: str, service: str, managed_policy_arns: Sequence[str] = ()) -> aws.iam.Role:
    role = aws.iam.Role(
        ctx.child(suffix),
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            }
        ),
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )
    for policy_arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(
            ctx.child(f"{suffix}-{policy_arn.rsplit('/', 1)[-1]}"),
            role=role.name,
            policy_arn=policy_arn,
            opts=ctx.opts(),
        )
    return role


def instance_profile(ctx: StackContext, suffix: str, managed_policy_arns: Sequence[str]) -> aws.iam.InstanceProfile:
    role = service_role(ctx, f"{suffix}-role", "ec2.amazonaws.com", managed_policy_arns)
    return aws.iam.InstanceProfile(
        ctx.child(f"{suffix}-profile"), role=role.name, tags=ctx.tags(f"{suffix}-profile"), opts=ctx.opts()
    )
