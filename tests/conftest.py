"""One recording mocks fixture for the whole suite: every registered resource with its type, name, inputs,
parent and options, and invokes answered with realistic payloads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _sync_await

from tinystack_component import TinyStack

REGION = "us-east-1"


class T:
    """Type tokens the tests look for."""

    VPC = "aws:ec2/vpc:Vpc"
    SUBNET = "aws:ec2/subnet:Subnet"
    ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
    ROUTE = "aws:ec2/route:Route"
    ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
    IGW = "aws:ec2/internetGateway:InternetGateway"
    INSTANCE = "aws:ec2/instance:Instance"
    EIP = "aws:ec2/eip:Eip"
    SG = "aws:ec2/securityGroup:SecurityGroup"
    DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
    INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
    FLOW_LOG = "aws:ec2/flowLog:FlowLog"
    LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
    ROLE = "aws:iam/role:Role"
    ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
    ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"


ACCOUNT = "123456789012"


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    urn: str
    parent_urn: str
    options: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    @property
    def parent_name(self) -> str:
        return self.parent_urn.rsplit("::", 1)[-1] if self.parent_urn else ""


@dataclass
class Invoke:
    token: str
    args: dict[str, Any]
    provider: str


def _fake_id(typ: str, name: str) -> str:
    return f"{typ.rsplit(':', 1)[-1].lower()}-{name}"


# What AWS reports for resources beyond their inputs, so outputs such as ARNs and DNS names resolve.
def _computed_state(typ: str, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
    service = {"cloudwatch": "logs", "lb": "elasticloadbalancing", "apigatewayv2": "apigateway"}.get(
        typ.split(":")[1].split("/")[0], typ.split(":")[1].split("/")[0]
    )
    arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    state: dict[str, Any] = {"arn": arn, "name": inputs.get("name", f"{name}-1a2b3c4")}
    if typ == "aws:ec2/instance:Instance":
        state |= {"primaryNetworkInterfaceId": f"eni-{name}", "publicIp": "198.51.100.10", "privateIp": "10.0.200.10"}
    elif typ == "aws:ec2/eip:Eip":
        state |= {"publicIp": "198.51.100.20", "allocationId": f"eipalloc-{name}"}
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        state |= {"prefixListId": "pl-63a5400a"}
    elif typ == "aws:lb/loadBalancer:LoadBalancer":
        state |= {"dnsName": f"{name}-123456.{REGION}.elb.amazonaws.com", "arnSuffix": f"app/{name}/123"}
    elif typ == "aws:apigatewayv2/api:Api":
        state |= {"apiEndpoint": f"https://abc123.execute-api.{REGION}.amazonaws.com"}
    elif typ == "aws:rds/instance:Instance":
        state |= {
            "address": f"{name}.abcdefg.{REGION}.rds.amazonaws.com",
            "masterUserSecrets": [
                {"secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-1234-AbCdEf"}
            ],
        }
    return state


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.invokes: list[Invoke] = []
        self.zone_names = [f"{REGION}a", f"{REGION}b", f"{REGION}c", f"{REGION}d", f"{REGION}f"]
        self.region = REGION
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        resource_id = _fake_id(args.typ, args.name)
        return resource_id, {**args.inputs, **_computed_state(args.typ, args.name, args.inputs, resource_id)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.invokes.append(Invoke(args.token, dict(args.args), args.provider))
        answer = INVOKE_ANSWERS.get(args.token)
        if answer is None:
            raise KeyError(f"no mocked answer for invoke {args.token}")
        return answer(self, args.args)


def _availability_zones(mocks: RecordingMocks, _: Mapping[str, Any]) -> dict[str, Any]:
    names = mocks.zone_names
    return {
        "names": names,
        "zoneIds": [f"use1-az{index + 1}" for index in range(len(names))],
        "state": "available",
        "groupNames": [mocks.region] * len(names),
        "id": mocks.region,
    }


def _ssm_parameter(_: RecordingMocks, args: Mapping[str, Any]) -> dict[str, Any]:
    name = args["name"]
    ami = "ami-0arm64example000" if "arm64" in name else "ami-0x8664example000"
    return {"name": name, "value": ami, "type": "String", "version": 1, "arn": f"arn:aws:ssm:{REGION}::parameter{name}"}


INVOKE_ANSWERS: dict[str, Callable[[RecordingMocks, Mapping[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getRegion:getRegion": lambda mocks, _: {
        "region": mocks.region,
        "name": mocks.region,
        "id": mocks.region,
        "endpoint": f"ec2.{mocks.region}.amazonaws.com",
        "description": "US East (N. Virginia)",
    },
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda mocks, _: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
        "userId": "AIDTEST",
        "id": ACCOUNT,
    },
    "aws:index/getPartition:getPartition": lambda mocks, _: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps what MockResourceArgs leaves out: the parent and the resource options."""

    mocks: RecordingMocks

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Recorded(
                    type=request.type,
                    name=request.name,
                    inputs=self.mocks.inputs[(request.type, request.name)],
                    urn=response.urn,
                    parent_urn=request.parent,
                    options={
                        "protect": request.protect,
                        "ignore_changes": list(request.ignoreChanges),
                        "provider": request.provider,
                        "dependencies": list(request.dependencies),
                        "delete_before_replace": request.deleteBeforeReplace,
                    },
                    id=response.id,
                )
            )
        return response


class Stack:
    """What one build recorded, with typed accessors."""

    def __init__(self, component: Any, recorded: list[Recorded], mocks: RecordingMocks) -> None:
        self.component = component
        self.resources = recorded
        self.invokes = mocks.invokes

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type == typ]

    def named(self, name: str) -> Recorded:
        matches = [resource for resource in self.resources if resource.name == name]
        assert len(matches) == 1, f"{len(matches)} resources named {name}: {[r.name for r in self.resources]}"
        return matches[0]

    def maybe(self, name: str) -> Optional[Recorded]:
        matches = [resource for resource in self.resources if resource.name == name]
        return matches[0] if matches else None

    def by_id(self, resource_id: str) -> Recorded:
        matches = [resource for resource in self.resources if resource.id == resource_id]
        assert len(matches) == 1, f"no single resource with id {resource_id}"
        return matches[0]

    def output(self, attribute: str) -> Any:
        return resolve(getattr(self.component, attribute))

    def rules(self) -> list[Recorded]:
        return self.of_type(T.INGRESS) + self.of_type(T.EGRESS)

    def ingress_to(self, security_group_name: str) -> list[Recorded]:
        group_id = self.named(security_group_name).id
        return [rule for rule in self.of_type(T.INGRESS) if rule.inputs["securityGroupId"] == group_id]

    def egress_from(self, security_group_name: str) -> list[Recorded]:
        group_id = self.named(security_group_name).id
        return [rule for rule in self.of_type(T.EGRESS) if rule.inputs["securityGroupId"] == group_id]

    def aws_resources(self) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type.startswith("aws:")]


def resolve(value: Any) -> Any:
    async def wait() -> Any:
        return await pulumi.Output.from_input(value).future()

    return _sync_await(asyncio.ensure_future(wait()))


def resolve_secret(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)

    async def wait() -> tuple[Any, bool]:
        return await output.future(), await output.is_secret()

    return _sync_await(asyncio.ensure_future(wait()))


class Builder:
    def __init__(self) -> None:
        self.mocks = RecordingMocks()

    def __call__(self, args: Optional[Mapping[str, Any]] = None, name: str = "web", opts: Any = None) -> Stack:
        monitor = RecordingMonitor(self.mocks)
        self.mocks.invokes = []
        pulumi.runtime.set_mocks(self.mocks, project="tinystack", stack="test", preview=False, monitor=monitor)
        holder: dict[str, Any] = {}

        def program() -> None:
            holder["component"] = TinyStack(name, dict(args or {}), opts)  # type: ignore[arg-type]

        pulumi.runtime.test(program)()
        return Stack(holder["component"], monitor.recorded, self.mocks)

    def program(self, fn: Callable[[], Any]) -> tuple[Any, list[Recorded]]:
        """Run any program (a Pulumi __main__, two stacks side by side) and record what it registers."""
        monitor = RecordingMonitor(self.mocks)
        self.mocks.invokes = []
        pulumi.runtime.set_mocks(self.mocks, project="tinystack", stack="test", preview=False, monitor=monitor)
        holder: dict[str, Any] = {}
        pulumi.runtime.test(lambda: holder.setdefault("result", fn()))()
        return holder.get("result"), monitor.recorded


@pytest.fixture
def build() -> Iterator[Builder]:
    yield Builder()
