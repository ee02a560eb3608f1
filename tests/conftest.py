"""One recording mocks fixture for the whole suite (`build`), with typed accessors over what it recorded.

The recording itself lives in the package (`tinystack_component.plan.recording`), so `make plan` and the tests
see the stack the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Optional

import pytest

from tinystack_component import TinyStack
from tinystack_component.plan.recording import Recorded, RecordingMocks, record, resolve, resolve_secret

__all__ = ["Recorded", "resolve", "resolve_secret"]


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


class Builder:
    def __init__(self) -> None:
        self.mocks = RecordingMocks()

    def __call__(self, args: Optional[Mapping[str, Any]] = None, name: str = "web", opts: Any = None) -> Stack:
        component, recorded = self.program(lambda: TinyStack(name, dict(args or {}), opts))  # type: ignore[arg-type]
        return Stack(component, recorded, self.mocks)

    def program(self, fn: Callable[[], Any]) -> tuple[Any, list[Recorded]]:
        """Run any program (a Pulumi __main__, two stacks side by side) and record what it registers."""
        return record(fn, self.mocks, stack="test")


@pytest.fixture
def build() -> Iterator[Builder]:
    yield Builder()
