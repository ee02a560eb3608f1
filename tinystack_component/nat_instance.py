"""Egress for private app subnets: one NAT instance (not a NAT gateway) with an Elastic IP.

A t4g.nano and its address cost about $7 a month, against about $33 per NAT gateway plus $0.045/GB.
"""

from dataclasses import dataclass

import pulumi_aws as aws

from .context import StackContext
from .machines import al2023_instance
from .network import Network
from .roles import SSM_MANAGED_INSTANCE_CORE, instance_profile
from .security import SecurityGroups

# dnf can race other boot-time jobs, hence the retries; the interface name comes from the default route because
# AL2023 calls it ens5, not eth0.
USER_DATA = """#!/bin/bash
set -uxo pipefail
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  dnf install -y iptables-services && break
  sleep $((attempt * 6))
done
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-tinystack-nat.conf
sysctl --system
iface=$(ip route show default | awk '/default/ {{print $5; exit}}')
iptables -t nat -C POSTROUTING -o "$iface" -s {vpc_cidr} -j MASQUERADE 2>/dev/null \\
  || iptables -t nat -A POSTROUTING -o "$iface" -s {vpc_cidr} -j MASQUERADE
iptables -P FORWARD ACCEPT
iptables-save > /etc/sysconfig/iptables
systemctl enable --now iptables
"""


@dataclass(frozen=True)
class NatInstance:
    instance: aws.ec2.Instance
    elastic_ip: aws.ec2.Eip


def build_nat_instance(ctx: StackContext, network: Network, groups: SecurityGroups, instance_type: str) -> NatInstance:
    assert groups.nat_instance is not None
    instance = al2023_instance(
        ctx,
        "nat-instance",
        instance_type=instance_type,
        subnet=network.public_subnets[0],
        security_group_id=groups.nat_instance.id,
        profile=instance_profile(ctx, "nat-instance", [SSM_MANAGED_INSTANCE_CORE]),
        user_data=USER_DATA.format(vpc_cidr=network.vpc_cidr),
        # EC2.180 is broken on purpose: forwarding other hosts' packets is this instance's job.
        source_dest_check=False,
    )
    elastic_ip = aws.ec2.Eip(
        ctx.child("nat-eip"), domain="vpc", instance=instance.id, tags=ctx.tags("nat-eip"), opts=ctx.opts()
    )
    for number, table in enumerate(network.app_route_tables, start=1):
        # The network interface, not the instance: an instance target makes every preview show a diff.
        aws.ec2.Route(
            ctx.child(f"app-{number}-default-route"),
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            network_interface_id=instance.primary_network_interface_id,
            opts=ctx.opts(),
        )
    return NatInstance(instance, elastic_ip)
