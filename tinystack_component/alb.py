"""Front end `alb`: an internet-facing Application Load Balancer in the public subnets.

HTTP forwards to the containers; with a certificate (given, or made for domain_name), HTTP redirects to HTTPS
(ELB.1) on a TLS 1.3 policy (ELB.17). With domain_name, an alias record points the name at the load balancer.
Access logs go to a bucket of the stack (ELB.5), deletion protection follows `deletion_protection` (ELB.6), and an
optional WAF web ACL sits in front (`waf`).
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import LOG_RETENTION_DAYS, StackContext
from .domain import AliasTarget, Domain, https_url, point_domain_at
from .network import Network
from .roles import account_id
from .security import HTTP, HTTPS, SecurityGroups
from .service import CONTAINER_NAME, Exposure
from .validation import Settings

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


ACCESS_LOG_PREFIX = "alb"
# Regions opened before August 2022 deliver ALB logs from a regional ELB account (aws.elb.get_service_account);
# newer ones from the logdelivery.elasticloadbalancing.amazonaws.com service principal.
ELB_ACCOUNT_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1",
        "me-south-1", "sa-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
    }
)  # fmt: skip
LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
RATE_LIMIT_PER_5_MINUTES = 2000
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def build_alb(
    ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups, domain: Optional[Domain]
) -> Exposure:
    access_logs, log_bucket_ready = (
        _access_logs(ctx, settings, network.region) if settings.alb_access_logs else (None, [])
    )
    load_balancer = aws.lb.LoadBalancer(
        ctx.child("alb"),
        load_balancer_type="application",
        internal=False,
        security_groups=[groups.front_end.id],
        subnets=network.public_subnet_ids,
        # ELB.4, and the strictest desync handling that still serves RFC-compliant clients.
        drop_invalid_header_fields=True,
        desync_mitigation_mode="defensive",
        access_logs=access_logs,
        enable_deletion_protection=settings.deletion_protection,  # ELB.6
        tags=ctx.tags("alb"),
        # The gateway must be attached first (InvalidSubnet), and ELB checks that it may write the bucket.
        opts=ctx.opts(depends_on=[network.internet_gateway, network.public_default_route, *log_bucket_ready]),
    )
    if settings.waf:
        _web_acl(ctx, load_balancer)
    target_group = _target_group(ctx, settings, network)
    certificate_arn = domain.certificate_arn if domain else settings.certificate_arn
    listeners = _listeners(ctx, certificate_arn, load_balancer, target_group)
    if domain is not None:
        point_domain_at(ctx, domain, AliasTarget(load_balancer.dns_name, load_balancer.zone_id))
    scheme = "http" if certificate_arn is None else "https"
    return Exposure(
        url=https_url(domain) if domain else pulumi.Output.concat(f"{scheme}://", load_balancer.dns_name),
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
    ctx: StackContext,
    certificate_arn: Optional[pulumi.Input[str]],
    load_balancer: aws.lb.LoadBalancer,
    target_group: aws.lb.TargetGroup,
) -> list[aws.lb.Listener]:
    """HTTP forwards; with a certificate, HTTP redirects (ELB.1) and HTTPS forwards on TLS 1.3 (ELB.17)."""
    forward: list[aws.lb.ListenerDefaultActionArgsDict] = [{"type": "forward", "target_group_arn": target_group.arn}]
    if certificate_arn is None:
        return [_listener(ctx, load_balancer, HTTP, "HTTP", forward)]
    https = _listener(
        ctx, load_balancer, HTTPS, "HTTPS", forward, certificate_arn=certificate_arn, ssl_policy=TLS_POLICY
    )
    # Redirect once HTTPS answers: adding a certificate or a domain never sends clients to a closed port meanwhile.
    return [_listener(ctx, load_balancer, HTTP, "HTTP", _redirect(), depends_on=[https]), https]


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
    depends_on: Optional[list[pulumi.Resource]] = None,
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
        opts=ctx.opts(depends_on=depends_on),
    )


def _access_logs(
    ctx: StackContext, settings: Settings, region: str
) -> tuple[aws.lb.LoadBalancerAccessLogsArgsDict, list[pulumi.Resource]]:
    """ELB.5: a private bucket that only ELB log delivery writes, over TLS, with SSE-S3 (the only encryption ALB log
    delivery supports), emptied after LOG_RETENTION_DAYS. It may be destroyed with its logs exactly when the load
    balancer may be (deletion_protection false). A protected stack that drops it (albAccessLogs off, another front
    end, pulumi destroy) leaves it behind with its settings, still expiring logs: S3 refuses to delete a bucket that
    holds objects (BucketNotEmpty), so deleting it would fail the update.

    Returns what the load balancer must wait for: the bucket's encryption and its policy."""
    retain = settings.deletion_protection
    bucket = aws.s3.Bucket(
        ctx.child("alb-logs"),
        force_destroy=not settings.deletion_protection,
        tags=ctx.tags("alb-logs"),
        opts=ctx.opts(retain_on_delete=retain),
    )

    # S3 answers 409 OperationAborted to concurrent changes of one bucket's settings (pulumi-aws #1570): one at a time.
    def after(previous: pulumi.Resource) -> pulumi.ResourceOptions:
        return ctx.opts(retain_on_delete=retain, depends_on=[previous])

    public_access_block = aws.s3.BucketPublicAccessBlock(
        ctx.child("alb-logs-public-access-block"),
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=ctx.opts(retain_on_delete=retain),
    )
    ownership = aws.s3.BucketOwnershipControls(
        ctx.child("alb-logs-ownership"),
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=after(public_access_block),
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        ctx.child("alb-logs-encryption"),
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=after(ownership),
    )
    expiry = aws.s3.BucketLifecycleConfiguration(
        ctx.child("alb-logs-expiry"),
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": LOG_RETENTION_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }
        ],
        opts=after(encryption),
    )
    writer = _log_writer(ctx, region)
    policy = aws.s3.BucketPolicy(
        ctx.child("alb-logs-policy"),
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, writer, account_id(ctx)).apply(lambda values: _bucket_policy(*values)),
        opts=after(expiry),
    )
    return {"bucket": bucket.id, "prefix": ACCESS_LOG_PREFIX, "enabled": True}, [encryption, policy]


def _log_writer(ctx: StackContext, region: str) -> pulumi.Input[dict[str, str]]:
    if region in ELB_ACCOUNT_REGIONS:
        account = aws.elb.get_service_account_output(region=region, opts=ctx.invoke_output_opts())
        return account.arn.apply(lambda arn: {"AWS": arn})
    return {"Service": LOG_DELIVERY_PRINCIPAL}


def _bucket_policy(bucket_arn: str, writer: dict[str, str], account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbLogDelivery",
                    "Effect": "Allow",
                    "Principal": writer,
                    "Action": "s3:PutObject",
                    # The path ELB writes to, as the ELB guide's bucket policy names it: this account's logs only.
                    "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account_id}/*",
                },
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


def _web_acl(ctx: StackContext, load_balancer: aws.lb.LoadBalancer) -> aws.wafv2.WebAcl:
    """AWS managed rule groups, then a rate limit per client IP, in front of the load balancer."""
    rules: list[aws.wafv2.WebAclRuleArgsDict] = [
        {
            "name": group,
            "priority": priority,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
            "visibility_config": _visibility(group),
        }
        for priority, group in enumerate(WAF_MANAGED_RULE_GROUPS, start=1)
    ]
    rules.append(
        {
            "name": "rate-limit-per-ip",
            "priority": len(rules) + 1,
            "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": RATE_LIMIT_PER_5_MINUTES, "aggregate_key_type": "IP"}},
            "visibility_config": _visibility("rate-limit-per-ip"),
        }
    )
    web_acl = aws.wafv2.WebAcl(
        ctx.child("waf"),
        scope="REGIONAL",
        default_action={"allow": {}},
        rules=rules,
        visibility_config=_visibility(ctx.child("waf")),
        tags=ctx.tags("waf"),
        opts=ctx.opts(),
    )
    aws.wafv2.WebAclAssociation(
        ctx.child("waf-association"), resource_arn=load_balancer.arn, web_acl_arn=web_acl.arn, opts=ctx.opts()
    )
    return web_acl


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}
