"""What every EC2 machine of the stack shares: AMIs from AWS's public SSM parameters, and the hardening."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .instance_types import architecture

# EC2.8: IMDSv2 only. A hop limit of 1 keeps bridge-mode containers away from the instance role's credentials.
METADATA_OPTIONS: aws.ec2.InstanceMetadataOptionsArgsDict = {
    "http_endpoint": "enabled",
    "http_tokens": "required",
    "http_put_response_hop_limit": 1,
}

# EC2.3/EC2.7: every root volume is encrypted gp3.
ENCRYPTED_ROOT_VOLUME: aws.ec2.InstanceRootBlockDeviceArgsDict = {
    "volume_type": "gp3",
    "encrypted": True,
    "delete_on_termination": True,
}


def launch_template_interface(
    security_group_id: pulumi.Input[str], *, public: bool
) -> aws.ec2.LaunchTemplateNetworkInterfaceArgsDict:
    """The primary interface of a launch template's instances: its one security group, a public IPv4 or none."""
    return {
        "associate_public_ip_address": "true" if public else "false",
        "delete_on_termination": "true",
        "security_groups": [security_group_id],
    }


def encrypted_root_mapping(size_gb: int) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgsDict]:
    """EC2.3/EC2.7 for launch templates: the AMI's root device (/dev/xvda on AL2023) as encrypted gp3."""
    return [{"device_name": "/dev/xvda", "ebs": {"volume_size": size_gb, "volume_type": "gp3", "encrypted": "true"}}]


def _ssm_parameter(ctx: StackContext, name: str) -> pulumi.Output[str]:
    return ctx.lookup(name, lambda: aws.ssm.get_parameter_output(name=name, opts=ctx.invoke_output_opts()).value)


def al2023_ami(ctx: StackContext, instance_type: str) -> pulumi.Output[str]:
    return _ssm_parameter(
        ctx, f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture(instance_type)}"
    )


def ecs_optimized_ami(ctx: StackContext, instance_type: str) -> pulumi.Output[str]:
    arm = "arm64/" if architecture(instance_type) == "arm64" else ""
    return _ssm_parameter(ctx, f"/aws/service/ecs/optimized-ami/amazon-linux-2023/{arm}recommended/image_id")


def al2023_instance(
    ctx: StackContext,
    suffix: str,
    *,
    instance_type: str,
    subnet: aws.ec2.Subnet,
    security_group_id: pulumi.Input[str],
    profile: aws.iam.InstanceProfile,
    user_data: Optional[pulumi.Input[str]],
    key_name: Optional[pulumi.Input[str]] = None,
    public: bool = True,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.ec2.Instance:
    """An AL2023 instance with a public IP in a public subnet (the SSH bastion), or without one (public=False: the
    Session Manager bastion in an app subnet). NAT instances live in their own Auto Scaling groups (egress/nat.py)."""
    return aws.ec2.Instance(
        ctx.child(suffix),
        ami=al2023_ami(ctx, instance_type),
        instance_type=instance_type,
        subnet_id=subnet.id,
        vpc_security_group_ids=[security_group_id],
        associate_public_ip_address=public,
        iam_instance_profile=profile.name,
        user_data=user_data,
        metadata_options=METADATA_OPTIONS,
        root_block_device=ENCRYPTED_ROOT_VOLUME,
        maintenance_options={"auto_recovery": "default"},
        tags=ctx.tags(suffix),
        volume_tags=ctx.tags(suffix),
        key_name=key_name,
        # A new AMI in the SSM parameter must not replace the bastion (and its address) on a routine `pulumi up`.
        opts=ctx.opts(ignore_changes=["ami"], depends_on=list(depends_on)),
    )
