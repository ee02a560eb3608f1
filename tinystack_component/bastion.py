"""The access tier: an optional SSH bastion in a public subnet, reached with the team's key from allowed CIDRs.

The stack only ever sees the public key; Session Manager works too, through the instance profile.
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .machines import public_instance
from .network import Network
from .roles import SSM_MANAGED_INSTANCE_CORE, instance_profile
from .security import SecurityGroups
from .service import DatabaseConnection
from .validation import BastionSettings

SSH_USER = "ec2-user"
USER_DATA = """#!/bin/bash
set -euo pipefail
cat > /etc/ssh/sshd_config.d/10-tinystack.conf <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
CONF
systemctl restart sshd
"""


@dataclass(frozen=True)
class Bastion:
    instance: aws.ec2.Instance
    ssh_command: pulumi.Output[str]
    tunnel_command: Optional[pulumi.Output[str]]


def build_bastion(
    ctx: StackContext,
    settings: BastionSettings,
    network: Network,
    groups: SecurityGroups,
    database: Optional[DatabaseConnection],
) -> Bastion:
    assert groups.bastion is not None
    key_pair = aws.ec2.KeyPair(
        ctx.child("bastion-key"), public_key=settings.public_key, tags=ctx.tags("bastion-key"), opts=ctx.opts()
    )
    instance = public_instance(
        ctx,
        "bastion",
        instance_type=settings.instance_type,
        subnet=network.public_subnets[0],
        security_group_id=groups.bastion.id,
        profile=instance_profile(ctx, "bastion", [SSM_MANAGED_INSTANCE_CORE]),
        user_data=USER_DATA,
        key_name=key_pair.key_name,
        # Its public address is given at launch: the gateway must be attached first.
        depends_on=[network.internet_gateway, network.public_default_route],
    )
    login = pulumi.Output.concat(f"{SSH_USER}@", instance.public_ip)
    tunnel = None
    if database is not None:
        forward = pulumi.Output.concat(str(database.port), ":", database.host, ":", str(database.port))
        tunnel = pulumi.Output.concat("ssh -N -L ", forward, " ", login)
    return Bastion(instance, pulumi.Output.concat("ssh ", login), tunnel)
