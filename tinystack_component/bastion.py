"""The access tier: an optional bastion from which the team reaches the database.

With a public key: an SSH bastion in a public subnet, reached with the team's key from the allowed CIDRs (the stack
only ever sees the public key; Session Manager works too, through the instance profile). Without one: a Session
Manager host in an app subnet, with no public IP, no key pair and no inbound rule; sessions and port forwarding go
through Systems Manager (the NAT, or the ssm and ssmmessages endpoints in isolated mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .machines import al2023_instance
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
    public_ip: Optional[pulumi.Output[str]]


def build_bastion(
    ctx: StackContext,
    settings: BastionSettings,
    network: Network,
    groups: SecurityGroups,
    database: Optional[DatabaseConnection],
    endpoints: Sequence[aws.ec2.VpcEndpoint] = (),
) -> Bastion:
    """`endpoints`: the isolated stack's interface endpoints, which the Session Manager bastion's agent needs."""
    assert groups.bastion is not None
    if settings.session_manager:
        return _session_manager_bastion(ctx, settings, network, groups.bastion.id, database, endpoints)
    key_pair = aws.ec2.KeyPair(
        ctx.child("bastion-key"), public_key=settings.public_key, tags=ctx.tags("bastion-key"), opts=ctx.opts()
    )
    instance = al2023_instance(
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
    return Bastion(instance, pulumi.Output.concat("ssh ", login), tunnel, instance.public_ip)


def _session_manager_bastion(
    ctx: StackContext,
    settings: BastionSettings,
    network: Network,
    security_group_id: pulumi.Output[str],
    database: Optional[DatabaseConnection],
    endpoints: Sequence[aws.ec2.VpcEndpoint],
) -> Bastion:
    instance = al2023_instance(
        ctx,
        "bastion",
        instance_type=settings.instance_type,
        subnet=network.app_subnets[0],
        security_group_id=security_group_id,
        profile=instance_profile(ctx, "bastion", [SSM_MANAGED_INSTANCE_CORE]),
        user_data=None,
        public=False,
        # Isolated mode: its agent registers at boot through the ssm endpoints, so they come first and go last.
        depends_on=endpoints,
    )
    # The region the instance lives in, whatever the user's CLI defaults to.
    session = pulumi.Output.concat(f"aws ssm start-session --region {network.region} --target ", instance.id)
    tunnel = None
    if database is not None:
        port = str(database.port)
        tunnel = pulumi.Output.concat(
            session,
            " --document-name AWS-StartPortForwardingSessionToRemoteHost --parameters host=",
            database.host,
            f",portNumber={port},localPortNumber={port}",
        )
    return Bastion(instance, session, tunnel, None)
