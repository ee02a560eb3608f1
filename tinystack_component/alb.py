"""Front end `alb`: an internet-facing Application Load Balancer in the public subnets.

HTTP forwards to the containers; with a certificate, HTTP redirects to HTTPS (ELB.1) on a TLS 1.3 policy (ELB.17).
"""

from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .network import Network
from .security import HTTP, HTTPS, SecurityGroups
from .service import CONTAINER_NAME, Exposure
from .validation import Settings

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def build_alb(ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups) -> Exposure:
    load_balancer = aws.lb.LoadBalancer(
        ctx.child("alb"),
        load_balancer_type="application",
        internal=False,
        security_groups=[groups.front_end.id],
        subnets=network.public_subnet_ids,
        # ELB.4, and the strictest desync handling that still serves RFC-compliant clients.
        drop_invalid_header_fields=True,
        desync_mitigation_mode="defensive",
        tags=ctx.tags("alb"),
        opts=ctx.opts(depends_on=[network.internet_gateway, network.public_default_route]),
    )
    target_group = _target_group(ctx, settings, network)
    listeners = _listeners(ctx, settings, load_balancer, target_group)
    scheme = "http" if settings.certificate_arn is None else "https"
    return Exposure(
        url=pulumi.Output.concat(f"{scheme}://", load_balancer.dns_name),
        load_balancers=[
            {
                "target_group_arn": target_group.arn,
                "container_name": CONTAINER_NAME,
                "container_port": settings.container_port,
            }
        ],
        # ECS refuses a target group that no listener uses yet.
        depends_on=listeners,
        load_balancer_dns_name=load_balancer.dns_name,
    )


def _target_group(ctx: StackContext, settings: Settings, network: Network) -> aws.lb.TargetGroup:
    return aws.lb.TargetGroup(
        ctx.child("targets"),
        vpc_id=network.vpc.id,
        target_type="instance",
        port=settings.container_port,
        protocol="HTTP",
        deregistration_delay=30,
        health_check={
            "path": settings.health_check_path,
            "protocol": "HTTP",
            "matcher": "200-399",
            "interval": 15,
            "healthy_threshold": 2,
            "unhealthy_threshold": 3,
        },
        tags=ctx.tags("targets"),
        opts=ctx.opts(),
    )


def _listeners(
    ctx: StackContext, settings: Settings, load_balancer: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup
) -> list[aws.lb.Listener]:
    """HTTP forwards; with a certificate, HTTP redirects (ELB.1) and HTTPS forwards on TLS 1.3 (ELB.17)."""
    forward: list[aws.lb.ListenerDefaultActionArgsDict] = [{"type": "forward", "target_group_arn": target_group.arn}]
    if settings.certificate_arn is None:
        return [_listener(ctx, load_balancer, HTTP, "HTTP", forward)]
    return [
        _listener(ctx, load_balancer, HTTP, "HTTP", _redirect()),
        _listener(
            ctx,
            load_balancer,
            HTTPS,
            "HTTPS",
            forward,
            certificate_arn=settings.certificate_arn,
            ssl_policy=TLS_POLICY,
        ),
    ]


def _redirect() -> list[aws.lb.ListenerDefaultActionArgsDict]:
    return [{"type": "redirect", "redirect": {"port": str(HTTPS), "protocol": "HTTPS", "status_code": "HTTP_301"}}]


def _listener(
    ctx: StackContext,
    load_balancer: aws.lb.LoadBalancer,
    port: int,
    protocol: str,
    actions: list[aws.lb.ListenerDefaultActionArgsDict],
    certificate_arn: Optional[pulumi.Input[str]] = None,
    ssl_policy: Optional[str] = None,
) -> aws.lb.Listener:
    suffix = f"listener-{port}"
    return aws.lb.Listener(
        ctx.child(suffix),
        load_balancer_arn=load_balancer.arn,
        port=port,
        protocol=protocol,
        default_actions=actions,
        certificate_arn=certificate_arn,
        ssl_policy=ssl_policy,
        tags=ctx.tags(suffix),
        opts=ctx.opts(),
    )
