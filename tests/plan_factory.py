"""Hand-built recorded resources for the plan tests: a compliant stack in a few lines, easy to break on purpose.

Shapes follow the resource vocabulary of `make plan` (camelCase inputs, references as id strings, numbers as the
engine's floats). Ids and ARNs are deliberately unlike the mocks' so the analysis must join on values, not formats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from tinystack_component.plan.recording import Recorded

VPC_CIDR = "10.0.0.0/16"
PUBLIC_SUBNETS = {"public-1": "10.0.192.0/20", "public-2": "10.0.208.0/20"}
APP_SUBNETS = {"app-1": "10.0.0.0/18", "app-2": "10.0.64.0/18"}
ADMIN_CIDR = "203.0.113.7/32"
ANYWHERE = "0.0.0.0/0"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
APP_PORT = 8080
DB_PORT = 5432
NAT_ENI = "eni-0fedcba9876543210"
# What ECS on EC2 needs in isolated subnets: the agent's three, the image pull's two (layers via S3) and awslogs.
ENDPOINT_SERVICES = ("ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "logs")


class Fake:
    """A growing list of Recorded resources, addressed by name."""

    def __init__(self, resources: Sequence[Recorded] = ()) -> None:
        self.resources: list[Recorded] = list(resources)

    def open_to_the_world(self, name: str, group_id: str, protocol: str = "-1", port: Optional[float] = None) -> None:
        """A deliberately broken ingress rule: anything from 0.0.0.0/0 into the group."""
        ports = {} if port is None else {"fromPort": port, "toPort": port}
        self.add(
            INGRESS, name, securityGroupId=group_id, ipProtocol=protocol, cidrIpv4=ANYWHERE, description=name, **ports
        )

    def route_app_1_to_the_igw(self) -> None:
        self.add(
            "aws:ec2/route:Route",
            "broken-app-1-igw",
            routeTableId=self.id("web-app-1-rt"),
            destinationCidrBlock=ANYWHERE,
            gatewayId=self.id("web-igw"),
        )

    def add(self, typ: str, name: str, /, *, outputs: Optional[dict[str, Any]] = None, **inputs: Any) -> Recorded:
        number = len(self.resources) + 1
        resource = Recorded(
            type=typ,
            name=name,
            inputs=inputs,
            urn=f"urn:pulumi:test::tinystack::{typ}::{name}",
            parent_urn="",
            id=f"r{number:04d}",
            outputs={**inputs, "arn": f"arn:aws:test:eu-west-3:000000000000:thing/{number}", **(outputs or {})},
        )
        self.resources.append(resource)
        return resource

    def named(self, name: str) -> Recorded:
        (found,) = [resource for resource in self.resources if resource.name == name]
        return found

    def id(self, name: str) -> str:
        return self.named(name).id

    def sg(self, label: str) -> str:
        return self.id(f"web-{label}-sg")

    def drop(self, *names: str) -> Fake:
        missing = set(names) - {resource.name for resource in self.resources}
        assert not missing, missing
        self.resources = [resource for resource in self.resources if resource.name not in names]
        return self

    def update(self, name: str, **inputs: Any) -> Fake:
        self.named(name).inputs.update(inputs)
        return self

    def rule(
        self,
        name: str,
        group: str,
        port: Optional[int],
        *,
        ingress: bool,
        cidr: Optional[str] = None,
        peer: Optional[str] = None,
        prefix_list: Optional[str] = None,
    ) -> Recorded:
        """A security group rule on `web-<group>-sg`; port None is every protocol. Peer is an SG label."""
        ports = {"ipProtocol": "-1"} if port is None else {"ipProtocol": "tcp", "fromPort": port, "toPort": port}
        peers: dict[str, Any] = {}
        if cidr is not None:
            peers["cidrIpv6" if ":" in cidr else "cidrIpv4"] = cidr
        if peer is not None:
            peers["referencedSecurityGroupId"] = self.sg(peer)
        if prefix_list is not None:
            peers["prefixListId"] = prefix_list
        typ = INGRESS if ingress else EGRESS
        description = f"{name} in words"
        return self.add(typ, name, securityGroupId=self.sg(group), description=description, **_floats(ports), **peers)

    def allow_between(self, source: str, target: str, port: Optional[int]) -> None:
        label = "all" if port is None else f"tcp-{port}"
        self.rule(f"web-allow-{source}-to-{target}-{label}-out", source, port, ingress=False, peer=target)
        self.rule(f"web-allow-{source}-to-{target}-{label}-in", target, port, ingress=True, peer=source)


EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def _floats(values: dict[str, Any]) -> dict[str, Any]:
    return {key: float(value) if isinstance(value, int) else value for key, value in values.items()}


def good_stack(
    *, front_end: str = "alb", nat: bool = True, https: bool = True, database: bool = True, bastion: bool = True
) -> Fake:
    """A stack that keeps every promise: the tests break one thing at a time."""
    fake = Fake()
    _network(fake)
    labels = ["containers", "alb" if front_end == "alb" else "vpc-link", "nat-instance" if nat else "endpoints"]
    labels += ["database"] * database + ["bastion"] * bastion
    for label in labels:
        fake.add("aws:ec2/securityGroup:SecurityGroup", f"web-{label}-sg", vpcId=fake.id("web-vpc"))
    if nat:
        _nat_instance(fake)
    else:
        _endpoints(fake)
    if front_end == "alb":
        _alb(fake, https)
    else:
        _api_gateway(fake)
    _compute(fake)
    if database:
        _database(fake)
    if bastion:
        _bastion(fake)
    return fake


def _network(fake: Fake) -> None:
    vpc = fake.add("aws:ec2/vpc:Vpc", "web-vpc", cidrBlock=VPC_CIDR).id
    fake.add("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "web-default-sg", vpcId=vpc)
    fake.add("aws:ec2/flowLog:FlowLog", "web-flow-log", vpcId=vpc, trafficType="REJECT", logDestination="arn:log")
    for name, cidr in {**PUBLIC_SUBNETS, **APP_SUBNETS}.items():
        fake.add("aws:ec2/subnet:Subnet", f"web-{name}", vpcId=vpc, cidrBlock=cidr, mapPublicIpOnLaunch=False)
    igw = fake.add("aws:ec2/internetGateway:InternetGateway", "web-igw", vpcId=vpc).id
    public_rt = fake.add("aws:ec2/routeTable:RouteTable", "web-public-rt", vpcId=vpc).id
    route(fake, "web-public-default-route", public_rt, gatewayId=igw)
    for name in PUBLIC_SUBNETS:
        associate(fake, public_rt, name)
    for name in APP_SUBNETS:
        associate(fake, fake.add("aws:ec2/routeTable:RouteTable", f"web-{name}-rt", vpcId=vpc).id, name)


def route(fake: Fake, name: str, table: str, destination: str = ANYWHERE, **target: str) -> None:
    fake.add("aws:ec2/route:Route", name, routeTableId=table, destinationCidrBlock=destination, **target)


def associate(fake: Fake, table: str, subnet: str) -> None:
    fake.add(
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        f"web-{subnet}-rta",
        routeTableId=table,
        subnetId=fake.id(f"web-{subnet}"),
    )


def hardened_instance(fake: Fake, name: str, subnet: str, group: str, **extra: Any) -> Recorded:
    return fake.add(
        "aws:ec2/instance:Instance",
        name,
        subnetId=fake.id(f"web-{subnet}"),
        vpcSecurityGroupIds=[fake.sg(group)],
        instanceType="t4g.nano",
        metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 1.0},
        rootBlockDevice={"encrypted": True, "volumeType": "gp3"},
        **extra,
    )


def _nat_instance(fake: Fake) -> None:
    nat = hardened_instance(
        fake,
        "web-nat-instance",
        "public-1",
        "nat-instance",
        sourceDestCheck=False,
        associatePublicIpAddress=True,
        outputs={"primaryNetworkInterfaceId": NAT_ENI},
    )
    fake.add("aws:ec2/eip:Eip", "web-nat-eip", instance=nat.id, domain="vpc")
    for name in APP_SUBNETS:
        route(fake, f"web-{name}-default-route", fake.id(f"web-{name}-rt"), networkInterfaceId=NAT_ENI)
    fake.rule("web-allow-vpc-to-nat-instance-all-in", "nat-instance", None, ingress=True, cidr=VPC_CIDR)
    fake.rule("web-allow-nat-instance-to-internet-all-out", "nat-instance", None, ingress=False, cidr=ANYWHERE)
    fake.rule("web-allow-containers-to-internet-all-out", "containers", None, ingress=False, cidr=ANYWHERE)


def _endpoints(fake: Fake) -> None:
    app_subnets = [fake.id(f"web-{name}") for name in APP_SUBNETS]
    for service in ENDPOINT_SERVICES:
        fake.add(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            f"web-{service.replace('.', '-')}-endpoint",
            vpcEndpointType="Interface",
            serviceName=f"com.amazonaws.eu-west-3.{service}",
            subnetIds=app_subnets,
            securityGroupIds=[fake.sg("endpoints")],
            privateDnsEnabled=True,
        )
    app_tables = [fake.id(f"web-{name}-rt") for name in APP_SUBNETS]
    fake.add(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "web-s3-endpoint",
        vpcEndpointType="Gateway",
        serviceName="com.amazonaws.eu-west-3.s3",
        routeTableIds=app_tables,
        outputs={"prefixListId": "pl-6da54004"},
    )
    fake.rule("web-allow-vpc-to-endpoints-tcp-443-in", "endpoints", 443, ingress=True, cidr=VPC_CIDR)
    fake.rule("web-allow-containers-to-endpoints-tcp-443-out", "containers", 443, ingress=False, peer="endpoints")
    fake.rule("web-allow-containers-to-s3-tcp-443-out", "containers", 443, ingress=False, prefix_list="pl-6da54004")


def _alb(fake: Fake, https: bool) -> None:
    lb = fake.add(
        "aws:lb/loadBalancer:LoadBalancer",
        "web-alb",
        securityGroups=[fake.sg("alb")],
        internal=False,
        subnets=[fake.id(f"web-{name}") for name in PUBLIC_SUBNETS],
        loadBalancerType="application",
        dropInvalidHeaderFields=True,
        accessLogs={"bucket": "web-alb-logs-0f1e2d3", "prefix": "alb", "enabled": True},
        enableDeletionProtection=True,
    )
    targets = fake.add("aws:lb/targetGroup:TargetGroup", "web-targets", port=float(APP_PORT), protocol="HTTP")
    forward = [{"type": "forward", "targetGroupArn": targets.outputs["arn"]}]
    redirect = [{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}]
    listener = "aws:lb/listener:Listener"
    arn = lb.outputs["arn"]
    fake.add(listener, "web-listener-80", loadBalancerArn=arn, port=80.0, protocol="HTTP", defaultActions=redirect)
    for port in (80, 443) if https else (80,):
        fake.rule(f"web-allow-internet-to-alb-tcp-{port}-in", "alb", port, ingress=True, cidr=ANYWHERE)
    if https:
        fake.add(
            listener,
            "web-listener-443",
            loadBalancerArn=arn,
            port=443.0,
            protocol="HTTPS",
            sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            defaultActions=forward,
        )
    else:
        fake.update("web-listener-80", defaultActions=forward)
    fake.allow_between("alb", "containers", APP_PORT)


def _api_gateway(fake: Fake) -> None:
    api = fake.add("aws:apigatewayv2/api:Api", "web-api", protocolType="HTTP").id
    fake.add(
        "aws:apigatewayv2/vpcLink:VpcLink",
        "web-vpc-link",
        securityGroupIds=[fake.sg("vpc-link")],
        subnetIds=[fake.id(f"web-{name}") for name in APP_SUBNETS],
    )
    logs = {"destinationArn": "arn:aws:logs:eu-west-3:000000000000:log-group:api", "format": "$context.requestId"}
    fake.add("aws:apigatewayv2/stage:Stage", "web-stage", apiId=api, name="$default", accessLogSettings=logs)
    fake.allow_between("vpc-link", "containers", APP_PORT)


def _compute(fake: Fake) -> None:
    template = fake.add(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "web-container-instances",
        instanceType="t3.small",
        metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 1.0},
        networkInterfaces=[{"associatePublicIpAddress": "false", "securityGroups": [fake.sg("containers")]}],
        blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeType": "gp3"}}],
    )
    fake.add(
        "aws:autoscaling/group:Group",
        "web-asg",
        vpcZoneIdentifiers=[fake.id(f"web-{name}") for name in APP_SUBNETS],
        launchTemplate={"id": template.id, "version": "1"},
    )
    fake.add("aws:ecs/cluster:Cluster", "web-cluster", settings=[{"name": "containerInsights", "value": "enabled"}])
    fake.add("aws:ecs/taskDefinition:TaskDefinition", "web-task", containerDefinitions=json.dumps([app_container()]))


def app_container(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "app",
        "image": "000000000000.dkr.ecr.eu-west-3.amazonaws.com/app:1",
        "portMappings": [{"containerPort": APP_PORT, "hostPort": APP_PORT}],
        "privileged": False,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "app"}},
        **overrides,
    }


def _database(fake: Fake) -> None:
    group = fake.add(
        "aws:rds/subnetGroup:SubnetGroup",
        "web-db-subnets",
        subnetIds=[fake.id(f"web-{name}") for name in APP_SUBNETS],
        outputs={"name": "web-db-subnets-7f3e2a1"},
    )
    fake.add(
        "aws:rds/instance:Instance",
        "web-database",
        vpcSecurityGroupIds=[fake.sg("database")],
        dbSubnetGroupName=group.outputs["name"],
        publiclyAccessible=False,
        storageEncrypted=True,
        deletionProtection=True,
        backupRetentionPeriod=7.0,
        engine="postgres",
        port=float(DB_PORT),
    )
    fake.allow_between("containers", "database", DB_PORT)


def _bastion(fake: Fake) -> None:
    hardened_instance(fake, "web-bastion", "public-2", "bastion", associatePublicIpAddress=True)
    fake.rule("web-allow-admin-1-to-bastion-tcp-22-in", "bastion", 22, ingress=True, cidr=ADMIN_CIDR)
    fake.rule("web-allow-bastion-to-internet-tcp-443-out", "bastion", 443, ingress=False, cidr=ANYWHERE)
    fake.allow_between("bastion", "database", DB_PORT)
