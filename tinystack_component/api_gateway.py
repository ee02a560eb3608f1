"""Front end `api-gateway`: an HTTP API reaching the tasks through a VPC link and Cloud Map SRV records.

HTTP APIs cannot target EC2 instances directly; a VPC link to a Cloud Map service can, and bridge-mode tasks
register there with their host port. No load balancer exists in this mode. With domain_name, a regional custom
domain (TLS 1.2) maps to the `$default` stage, and the default execute-api endpoint is disabled: one way in.
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .domain import AliasTarget, Domain, https_url, point_domain_at
from .logs import log_group
from .network import Network
from .security import SecurityGroups
from .service import CONTAINER_NAME, Exposure
from .validation import Settings

THROTTLING_BURST_LIMIT = 200
THROTTLING_RATE_LIMIT = 100

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integrationErrorMessage",
    }
)


def build_api_gateway(
    ctx: StackContext, settings: Settings, network: Network, groups: SecurityGroups, domain: Optional[Domain]
) -> Exposure:
    discovery = _service_discovery(ctx, network)
    vpc_link = aws.apigatewayv2.VpcLink(
        ctx.child("vpc-link"),
        subnet_ids=network.app_subnet_ids,
        security_group_ids=[groups.front_end.id],
        tags=ctx.tags("vpc-link"),
        opts=ctx.opts(),
    )
    custom_domain = _custom_domain(ctx, domain) if domain is not None else None
    api = aws.apigatewayv2.Api(
        ctx.child("api"),
        protocol_type="HTTP",
        # With a custom domain the execute-api endpoint is off, so nothing bypasses the domain's name and TLS policy.
        disable_execute_api_endpoint=domain is not None,
        tags=ctx.tags("api"),
        # Switched off in place only once the domain (after its certificate's validation, minutes) and its alias
        # exist: an API that gains a domain stays reachable at execute-api until the name answers.
        opts=ctx.opts(depends_on=list(custom_domain)) if custom_domain else ctx.opts(),
    )
    integration = aws.apigatewayv2.Integration(
        ctx.child("integration"),
        api_id=api.id,
        integration_type="HTTP_PROXY",
        integration_method="ANY",
        connection_type="VPC_LINK",
        connection_id=vpc_link.id,
        integration_uri=discovery.arn,
        payload_format_version="1.0",
        opts=ctx.opts(),
    )
    aws.apigatewayv2.Route(
        ctx.child("default-route"),
        api_id=api.id,
        route_key="$default",
        target=pulumi.Output.concat("integrations/", integration.id),
        opts=ctx.opts(),
    )
    stage = _default_stage(ctx, api)
    if custom_domain is not None:
        api_domain, _ = custom_domain
        aws.apigatewayv2.ApiMapping(
            ctx.child("api-mapping"),
            api_id=api.id,
            domain_name=api_domain.domain_name,
            stage=stage.name,
            opts=ctx.opts(),
        )
    return Exposure(
        url=https_url(domain) if domain else api.api_endpoint,
        service_registries={
            "registry_arn": discovery.arn,
            # Bridge mode: ECS must be told which container and port to publish in the SRV record.
            "container_name": CONTAINER_NAME,
            "container_port": settings.container_port,
        },
        api_endpoint=api.api_endpoint,
    )


def _service_discovery(ctx: StackContext, network: Network) -> aws.servicediscovery.Service:
    namespace = aws.servicediscovery.PrivateDnsNamespace(
        ctx.child("namespace"),
        name=f"{ctx.name}.internal",
        vpc=network.vpc.id,
        description="Tasks of the TinyStack service, for the API Gateway VPC link",
        tags=ctx.tags("namespace"),
        opts=ctx.opts(),
    )
    return aws.servicediscovery.Service(
        ctx.child("discovery"),
        name=CONTAINER_NAME,
        # API Gateway resolves Cloud Map services through SRV records only: they carry the host port.
        dns_config={
            "namespace_id": namespace.id,
            "dns_records": [{"type": "SRV", "ttl": 10}],
            "routing_policy": "MULTIVALUE",
        },
        tags=ctx.tags("discovery"),
        opts=ctx.opts(),
    )


def _default_stage(ctx: StackContext, api: aws.apigatewayv2.Api) -> aws.apigatewayv2.Stage:
    access_logs = log_group(ctx, "api-access-logs")
    return aws.apigatewayv2.Stage(
        ctx.child("default-stage"),
        api_id=api.id,
        name="$default",
        auto_deploy=True,
        # APIGateway.9
        access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
        default_route_settings={
            "throttling_burst_limit": THROTTLING_BURST_LIMIT,
            "throttling_rate_limit": THROTTLING_RATE_LIMIT,
        },
        tags=ctx.tags("default-stage"),
        opts=ctx.opts(),
    )


def _custom_domain(ctx: StackContext, domain: Domain) -> tuple[aws.apigatewayv2.DomainName, aws.route53.Record]:
    """The regional domain and its alias; they need no API (only the mapping does), so the API can wait for them."""
    api_domain = aws.apigatewayv2.DomainName(
        ctx.child("api-domain"),
        domain_name=domain.name,
        domain_name_configuration={
            "certificate_arn": domain.certificate_arn,
            "endpoint_type": "REGIONAL",
            "security_policy": "TLS_1_2",
        },
        tags=ctx.tags("api-domain"),
        opts=ctx.opts(),
    )
    configuration = api_domain.domain_name_configuration
    alias = point_domain_at(ctx, domain, AliasTarget(configuration.target_domain_name, configuration.hosted_zone_id))
    return api_domain, alias
