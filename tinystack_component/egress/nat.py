"""Egress for private app subnets through NAT instances that heal themselves (not NAT gateways).

Each NAT is a static network interface in its public subnet (source/dest check off, the NAT security group) with
an Elastic IP, plus an Auto Scaling group of exactly one instance whose boot script (`nat_boot.sh`, beside this
file) attaches that interface and masquerades out of it. The app routes and the Elastic IP point at the interface,
so a replacement, an AMI roll or an instance-type change moves no route and no address.

One NAT: a t4g.nano, its 8 GB root volume and the Elastic IP come to about $7.36 a month, against about $33 per NAT
gateway plus $0.045/GB.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ..context import StackContext
from ..logs import log_group
from ..machines import METADATA_OPTIONS, al2023_ami, encrypted_root_mapping, launch_template_interface
from ..network import Network
from ..roles import SSM_MANAGED_INSTANCE_CORE, account_id, instance_profile, partition
from ..security import SecurityGroups

ROOT_VOLUME_GB = 8  # the AL2023 AMI's own root size
# T3, T3a and T4g launch in unlimited mode by default: a NAT above its baseline all month bills surplus credits
# ($0.04 per vCPU-hour for T4g, up to about $55 a month for a t4g.nano against its $3.07). Standard mode caps the
# bill; out of credits the instance slows to its baseline (5 % of each vCPU for a t4g.nano), which still forwards
# the ~32 Mbit/s a t4g.nano sustains. Only burstable (T) types take a credit specification.
BURSTABLE_FAMILIES = ("t2", "t3", "t3a", "t4g")
# Tags the plan and IAM read: which static interface a NAT group attaches, and which ENIs are NAT primaries.
NAT_INTERFACE_TAG = "TinyStackNatInterface"
NAT_PRIMARY_TAG = "TinyStackNat"
CONFIG_MARKER = "# @config@"
# AWS limits: an Auto Scaling group name is at most 255 characters, a tag value at most 256.
NAME_LIMIT = 255
# An IAM policy variable, not a Python placeholder: the ARN of the instance whose role credentials sign the request.
SOURCE_INSTANCE = "${ec2:SourceInstanceARN}"


@dataclass(frozen=True)
class Nat:
    network_interface: aws.ec2.NetworkInterface
    elastic_ip: aws.ec2.Eip
    launch_template: aws.ec2.LaunchTemplate
    auto_scaling_group: aws.autoscaling.Group


@dataclass(frozen=True)
class NatEgress:
    nats: list[Nat]
    boot_log: aws.cloudwatch.LogGroup


def boot_script() -> str:
    return resources.files(__package__).joinpath("nat_boot.sh").read_text()


def user_data(config: dict[str, str]) -> str:
    """The boot script as the launch template carries it: the file, with the stack's values where it expects them."""
    lines = "\n".join(f"{key}={json.dumps(value)}" for key, value in config.items())
    script = boot_script()
    if CONFIG_MARKER not in script:
        raise AssertionError(f"nat_boot.sh lost its {CONFIG_MARKER} line")
    return script.replace(CONFIG_MARKER, lines, 1)


def stack_identity(ctx: StackContext, suffix: str = "") -> str:
    """Unique per project, stack and component in one account and region: the dev and prod stacks of one project
    (whose component names are both the project's name) never share a NAT group name or a NAT tag value."""
    identity = f"{pulumi.get_project()}-{pulumi.get_stack()}-{ctx.child(suffix) if suffix else ctx.name}"
    if len(identity) <= NAME_LIMIT:
        return identity
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{identity[: NAME_LIMIT - len(digest) - 1]}-{digest}"


def _suffix(index: int, what: str) -> str:
    """The first NAT keeps unnumbered names, so turning on a NAT per AZ never renames (replaces) it."""
    return f"nat-{what}" if index == 0 else f"nat-{index + 1}-{what}"


def build_nat_egress(
    ctx: StackContext, network: Network, groups: SecurityGroups, instance_type: str, high_availability: bool
) -> NatEgress:
    """One NAT (in AZ 1) for every app subnet, or one per AZ, each app route table pointing at its own AZ's NAT."""
    assert groups.nat_instance is not None
    boot_log = log_group(ctx, "nat-boot-log")
    profile = instance_profile(ctx, "nat-instance", [SSM_MANAGED_INSTANCE_CORE])
    count = len(network.zones) if high_availability else 1
    interfaces = [_static_interface(ctx, network, groups, index) for index in range(count)]
    # Which NAT owns each app route table's default route: its own AZ's, or the single one.
    owners = [index if high_availability else 0 for index in range(len(network.app_route_tables))]
    peers = _peers(interfaces, network, owners)
    elastic_ips = [_elastic_ip(ctx, network, index, interface) for index, interface in enumerate(interfaces)]
    templates = [
        _launch_template(ctx, network, groups, index, interface, instance_type, profile, boot_log, peers)
        for index, interface in enumerate(interfaces)
    ]
    group_names = [stack_identity(ctx, _suffix(index, "asg")) for index in range(count)]
    policy = _nat_policy(ctx, profile, interfaces, group_names, boot_log, network)
    nats = [
        Nat(interface, elastic_ip, template, _group(ctx, network, index, name, template, [policy, elastic_ip]))
        for index, (interface, elastic_ip, template, name) in enumerate(
            zip(interfaces, elastic_ips, templates, group_names, strict=True)
        )
    ]
    for number, (table, owner) in enumerate(zip(network.app_route_tables, owners, strict=True), start=1):
        # The static interface, never an instance: a replacement changes no route. The NATs own the target once
        # the route exists: a surviving NAT repoints it when the owner dies and the owner takes it back when it
        # boots, so Pulumi must neither flip it back (a `pulumi up --refresh` during a takeover) nor diff it.
        aws.ec2.Route(
            ctx.child(f"app-{number}-default-route"),
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            network_interface_id=interfaces[owner].id,
            opts=ctx.opts(ignore_changes=["networkInterfaceId"]),
        )
    return NatEgress(nats, boot_log)


def _peers(
    interfaces: list[aws.ec2.NetworkInterface], network: Network, owners: list[int]
) -> pulumi.Output[dict[str, str]]:
    """What every NAT's watchdog knows: each NAT's static address (NAT_PEERS) and which NAT owns which route table
    (NAT_ROUTES), as `index:value` words with 1-based indexes."""
    return pulumi.Output.all(
        addresses=[interface.private_ip for interface in interfaces],
        tables=[table.id for table in network.app_route_tables],
    ).apply(
        lambda values: {
            "NAT_PEERS": " ".join(f"{n}:{address}" for n, address in enumerate(values["addresses"], start=1)),
            "NAT_ROUTES": " ".join(
                f"{table}:{owner + 1}" for table, owner in zip(values["tables"], owners, strict=True)
            ),
        }
    )


def _static_interface(
    ctx: StackContext, network: Network, groups: SecurityGroups, index: int
) -> aws.ec2.NetworkInterface:
    assert groups.nat_instance is not None
    suffix = _suffix(index, "eni")
    return aws.ec2.NetworkInterface(
        ctx.child(suffix),
        subnet_id=network.public_subnets[index].id,
        security_groups=[groups.nat_instance.id],
        # EC2.180 is broken on purpose: forwarding other hosts' packets is this interface's job.
        source_dest_check=False,
        description=f"TinyStack NAT {index + 1}: app routes and the Elastic IP point here",
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )


def _elastic_ip(ctx: StackContext, network: Network, index: int, interface: aws.ec2.NetworkInterface) -> aws.ec2.Eip:
    return aws.ec2.Eip(
        ctx.child(_suffix(index, "eip")),
        domain="vpc",
        network_interface=interface.id,
        tags=ctx.tags(_suffix(index, "eip")),
        # AWS refuses the association (Gateway.NotAttached) until the VPC's internet gateway is attached and routed.
        opts=ctx.opts(depends_on=[network.internet_gateway, network.public_default_route]),
    )


def _group(
    ctx: StackContext,
    network: Network,
    index: int,
    name: str,
    template: aws.ec2.LaunchTemplate,
    boot_needs: list[pulumi.Resource],
) -> aws.autoscaling.Group:
    return aws.autoscaling.Group(
        ctx.child(_suffix(index, "asg")),
        # Known before creation, so the role policy can name the group (its ARN carries a UUID only AWS knows) and
        # exist before the first instance boots. Only a name change replaces a group, and a new name never clashes
        # with the old one, so Pulumi's create-before-delete still works (the new NAT takes the interface over).
        name=name,
        vpc_zone_identifiers=[network.public_subnets[index].id],
        # One instance; the room for a second lets a replacement launch before its predecessor terminates.
        min_size=1,
        max_size=2,
        desired_capacity=1,
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        health_check_type="EC2",
        health_check_grace_period=60,
        # Replacements (impaired or Unhealthy instances, AZ rebalancing) launch the new NAT before terminating the
        # old one where AWS allows it; its boot script then takes the interface over at once.
        instance_maintenance_policy={"min_healthy_percentage": 100, "max_healthy_percentage": 200},
        # A new launch template version (a new AMI in the SSM parameter, another instance type) rolls the NAT
        # the same way: launch before terminate.
        instance_refresh={
            "strategy": "Rolling",
            "preferences": {"min_healthy_percentage": 100, "max_healthy_percentage": 200, "instance_warmup": "60"},
        },
        tags=[
            {"key": key, "value": value, "propagate_at_launch": True}
            for key, value in ctx.tags(_suffix(index, "instance")).items()
        ],
        # The first instance boots with its permissions in place (the role policy) and never gives back its
        # launch-time address before the Elastic IP sits on the static interface (the association).
        opts=ctx.opts(depends_on=boot_needs),
    )


def _launch_template(
    ctx: StackContext,
    network: Network,
    groups: SecurityGroups,
    index: int,
    interface: aws.ec2.NetworkInterface,
    instance_type: str,
    profile: aws.iam.InstanceProfile,
    boot_log: aws.cloudwatch.LogGroup,
    peers: pulumi.Output[dict[str, str]],
) -> aws.ec2.LaunchTemplate:
    assert groups.nat_instance is not None
    suffix = _suffix(index, "launch-template")
    instance_tags = ctx.tags(_suffix(index, "instance"))
    script = pulumi.Output.all(interface.id, boot_log.name, peers).apply(
        lambda values: _encoded_user_data(
            {
                "NAT_ENI_ID": values[0],
                "NAT_VPC_CIDR": network.vpc_cidr,
                "NAT_LOG_GROUP": values[1],
                "NAT_INDEX": str(index + 1),
                **values[2],
            }
        )
    )
    return aws.ec2.LaunchTemplate(
        ctx.child(suffix),
        # Looked up at every `pulumi up`: a newly published AL2023 AMI gives a new version, which the ASG rolls.
        image_id=al2023_ami(ctx, instance_type),
        instance_type=instance_type,
        iam_instance_profile={"arn": profile.arn},
        metadata_options=METADATA_OPTIONS,
        # The public IPv4 is only for the boot script's API calls before the static interface is attached; the
        # script gives it back once egress runs through the Elastic IP.
        # Device 0 explicitly: the boot script attaches the static interface as device 1.
        network_interfaces=[{**launch_template_interface(groups.nat_instance.id, public=True), "device_index": 0}],
        block_device_mappings=encrypted_root_mapping(ROOT_VOLUME_GB),
        user_data=script,
        tag_specifications=[
            {"resource_type": "instance", "tags": instance_tags},
            {"resource_type": "volume", "tags": instance_tags},
            {"resource_type": "network-interface", "tags": {**instance_tags, NAT_PRIMARY_TAG: stack_identity(ctx)}},
        ],
        credit_specification=_credits(instance_type),
        update_default_version=True,
        tags={**ctx.tags(suffix), NAT_INTERFACE_TAG: interface.id},  # type: ignore[dict-item]
        opts=ctx.opts(),
    )


def _credits(instance_type: str) -> Optional[aws.ec2.LaunchTemplateCreditSpecificationArgsDict]:
    return {"cpu_credits": "standard"} if instance_type.split(".")[0] in BURSTABLE_FAMILIES else None


def _encoded_user_data(config: dict[str, str]) -> str:
    return base64.b64encode(user_data(config).encode()).decode()


def _nat_policy(
    ctx: StackContext,
    profile: aws.iam.InstanceProfile,
    interfaces: list[aws.ec2.NetworkInterface],
    group_names: list[str],
    boot_log: aws.cloudwatch.LogGroup,
    network: Network,
) -> aws.iam.RolePolicy:
    policy = pulumi.Output.all(
        interfaces=[interface.arn for interface in interfaces],
        route_tables=[table.arn for table in network.app_route_tables],
        log_group=boot_log.arn,
        profile=profile.arn,
        account=account_id(ctx),
        partition=partition(ctx),
        region=network.region,
    ).apply(
        lambda values: json.dumps(nat_policy_document(stack_name=stack_identity(ctx), groups=group_names, **values))
    )
    return aws.iam.RolePolicy(ctx.child("nat-instance-policy"), role=profile.role, policy=policy, opts=ctx.opts())


def nat_policy_document(
    *,
    stack_name: str,
    interfaces: list[str],
    groups: list[str],
    route_tables: list[str],
    log_group: str,
    profile: str,
    account: str,
    partition: str,
    region: str,
) -> dict[str, Any]:
    """Least privilege: writes only on the stack's NAT interfaces, NAT groups, NAT instances and boot log.

    `groups` are the NAT groups' names: their ARNs carry a UUID that exists only once a group does, and the policy
    must be in place before the first instance boots."""
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    group_arns = [
        f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"
        for name in groups
    ]
    moves = ["ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "MoveTheStaticInterfaces", "Effect": "Allow", "Action": moves, "Resource": interfaces},
            {
                # Attach also names an instance: only the calling instance itself (the policy variable resolves to
                # the ARN of the instance whose role credentials sign the request), and only a NAT instance.
                "Sid": "AttachToItselfOnly",
                "Effect": "Allow",
                "Action": "ec2:AttachNetworkInterface",
                "Resource": SOURCE_INSTANCE,
                "Condition": {"ArnEquals": {"ec2:InstanceProfile": profile}},
            },
            {
                # Detach names the instance that holds the interface: a predecessor NAT (launched with this stack's
                # NAT profile) during a roll or a replacement.
                "Sid": "DetachFromNatInstancesOnly",
                "Effect": "Allow",
                "Action": "ec2:DetachNetworkInterface",
                "Resource": f"{ec2}:instance/*",
                "Condition": {"ArnEquals": {"ec2:InstanceProfile": profile}},
            },
            {
                # Gives back the launch-time public IPv4 of the instance's own primary interface, which the launch
                # template tags with the project, stack and component: no other stack's interface carries the value.
                "Sid": "ReleaseTheLaunchAddress",
                "Effect": "Allow",
                "Action": "ec2:ModifyNetworkInterfaceAttribute",
                "Resource": f"{ec2}:network-interface/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/{NAT_PRIMARY_TAG}": stack_name}},
            },
            {
                # The watchdog repoints an app route table's default route: its own AZ's at boot, a dead NAT's AZ's.
                "Sid": "OwnTheAppDefaultRoutes",
                "Effect": "Allow",
                "Action": "ec2:ReplaceRoute",
                "Resource": route_tables,
            },
            {
                # Describe calls support no resource-level permissions; they only read.
                "Sid": "ReadInterfacesAndRoutes",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables"],
                "Resource": "*",
            },
            {
                "Sid": "MarkUnhealthy",
                "Effect": "Allow",
                "Action": "autoscaling:SetInstanceHealth",
                "Resource": group_arns,
            },
            {
                "Sid": "ShipTheBootLog",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group, f"{log_group}:*"],
            },
        ],
    }
