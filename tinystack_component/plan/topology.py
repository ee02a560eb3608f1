"""Resource types, predicates and joins over recorded resources that reachability, cost and the diagram share.

Resources are joined by matching an input value against the referenced resource's `id` (or its `arn` output),
never by the placeholder formats of the mocks.
"""

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..egress.nat import NAT_INTERFACE_TAG
from .recording import Recorded

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INSTANCE = "aws:ec2/instance:Instance"
EIP = "aws:ec2/eip:Eip"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
HTTP_API = "aws:apigatewayv2/api:Api"
VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
LOAD_BALANCERS = (LOAD_BALANCER, "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
STAGE = "aws:apigatewayv2/stage:Stage"
API_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
API_MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
DNS_RECORD = "aws:route53/record:Record"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
EBS_VOLUME = "aws:ebs/volume:Volume"
EBS_DEFAULT_ENCRYPTION = "aws:ebs/encryptionByDefault:EncryptionByDefault"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
KMS_KEY = "aws:kms/key:Key"


def of_type(resources: Iterable[Recorded], *tokens: str) -> list[Recorded]:
    """By name: the engine registers resources concurrently, and every report must come out the same each run."""
    return sorted((resource for resource in resources if resource.type in tokens), key=lambda resource: resource.name)


def number(value: Any, default: float = 0.0) -> float:
    """Numbers arrive as floats from the engine, or as strings in some nested inputs (launch template EBS)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def truthy(value: Any) -> bool:
    """True, or "true" as some nested inputs carry it."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def explicitly_false(value: Any) -> bool:
    """False, or "false"; unlike `not truthy`, an absent value is not false (AWS defaults apply)."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_nat_instance(resource: Recorded) -> bool:
    """An instance that forwards others' traffic: AWS checks source and destination unless told not to."""
    return resource.type == INSTANCE and explicitly_false(resource.inputs.get("sourceDestCheck"))


def is_nat_interface(resource: Recorded) -> bool:
    """A static network interface that forwards others' traffic: the target of the app routes in NAT mode."""
    return resource.type == NETWORK_INTERFACE and explicitly_false(resource.inputs.get("sourceDestCheck"))


def nat_interface_of(template: Recorded) -> Optional[str]:
    """The static interface a NAT launch template's instances attach, as its tag names it."""
    return (template.inputs.get("tags") or {}).get(NAT_INTERFACE_TAG) or None


def nat_groups(resources: Sequence[Recorded]) -> list[tuple[Recorded, Recorded, str]]:
    """(Auto Scaling group, launch template, static interface id) of every NAT group."""
    found = []
    for group in of_type(resources, AUTOSCALING_GROUP):
        template = launch_template_of(group, resources)
        interface = nat_interface_of(template) if template is not None else None
        if template is not None and interface:
            found.append((group, template, interface))
    return found


def nat_boot_log_group(template: Recorded) -> Optional[str]:
    """The log group a NAT launch template's boot script ships its log to, read from the user data it carries."""
    encoded = template.inputs.get("userData")
    if not isinstance(encoded, str):
        return None
    try:
        script = base64.b64decode(encoded).decode()
    except ValueError:
        return None
    found = re.search(r'^NAT_LOG_GROUP="([^"]+)"$', script, re.MULTILINE)
    return found.group(1) if found else None


def elastic_ip_of_interface(resources: Sequence[Recorded], interface_id: str) -> Optional[Recorded]:
    return next(
        (
            eip
            for eip in of_type(resources, EIP, EIP_ASSOCIATION)
            if interface_id in (eip.inputs.get("networkInterface"), eip.inputs.get("networkInterfaceId"))
        ),
        None,
    )


def interface_endpoints(resources: Sequence[Recorded]) -> list[Recorded]:
    return [
        endpoint
        for endpoint in of_type(resources, VPC_ENDPOINT)
        if endpoint.inputs.get("vpcEndpointType") == "Interface"
    ]


def zones(subnets: Iterable[Recorded]) -> list[str]:
    return sorted({subnet.inputs["availabilityZone"] for subnet in subnets if subnet.inputs.get("availabilityZone")})


def launches(group: Recorded, template: Recorded) -> bool:
    """Whether an autoscaling group starts the template, named by id or name, itself or in a mixed instances policy."""
    spec = group.inputs.get("launchTemplate") or {}
    mixed_policy = (group.inputs.get("mixedInstancesPolicy") or {}).get("launchTemplate") or {}
    mixed = mixed_policy.get("launchTemplateSpecification") or {}
    used = {spec.get("id"), spec.get("name"), mixed.get("launchTemplateId"), mixed.get("launchTemplateName")}
    names = {template.id, template.outputs.get("name"), template.inputs.get("name")}
    return bool((used & names) - {None, ""})


def launch_template_of(group: Recorded, resources: Sequence[Recorded]) -> Optional[Recorded]:
    return next((template for template in of_type(resources, LAUNCH_TEMPLATE) if launches(group, template)), None)


def groups_launching(template: Recorded, resources: Sequence[Recorded]) -> list[Recorded]:
    return [group for group in of_type(resources, AUTOSCALING_GROUP) if launches(group, template)]


def desired_capacity(group: Recorded) -> int:
    return int(number(group.inputs.get("desiredCapacity"), number(group.inputs.get("minSize"), 0)))


def subnet_group_subnets(resources: Sequence[Recorded], group_name: Any) -> list[str]:
    """The subnets of a DB subnet group, which a database names by the group's name (or id)."""
    for group in of_type(resources, DB_SUBNET_GROUP):
        if group_name and group_name in (group.id, group.outputs.get("name"), group.inputs.get("name")):
            return list(group.inputs.get("subnetIds") or [])
    return []


def names_aliased_to(resources: Sequence[Recorded], dns_name: Any) -> list[str]:
    """The Route 53 names whose alias targets `dns_name` (a load balancer's, or an API domain's target)."""
    return sorted(
        str(record.inputs.get("name"))
        for record in of_type(resources, DNS_RECORD)
        if dns_name and any(alias.get("name") == dns_name for alias in record.inputs.get("aliases") or [])
    )


def api_domains(resources: Sequence[Recorded], api: Recorded) -> list[Recorded]:
    """The custom domains mapped to an HTTP API (by the domain's name or id)."""
    mapped = {
        mapping.inputs.get("domainName")
        for mapping in of_type(resources, API_MAPPING)
        if mapping.inputs.get("apiId") == api.id
    }
    return [
        domain for domain in of_type(resources, API_DOMAIN) if {domain.id, domain.inputs.get("domainName")} & mapped
    ]


def api_domain_names(resources: Sequence[Recorded], api: Recorded) -> list[str]:
    """The host names that reach the API through its custom domains: the alias records to each domain's target."""
    names = []
    for domain in api_domains(resources, api):
        target = (domain.outputs.get("domainNameConfiguration") or {}).get("targetDomainName")
        names += names_aliased_to(resources, target) or [str(domain.inputs.get("domainName"))]
    return sorted(set(names))
