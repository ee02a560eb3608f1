"""One recording mocks fixture for the whole suite (`build`), with typed accessors over what it recorded.

The recording itself lives in the package (`tinystack_component.plan.recording`), so `make plan` and the tests
see the stack the same way.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pytest

if TYPE_CHECKING:
    from tinystack_component.plan.recording import Recorded


def _recording() -> Any:
    """The component and its pulumi_aws modules load in the workers that build, not in xdist's controller, which only
    hands tests out: importing them there (1.5 s) would delay every worker's start."""
    from tinystack_component.plan import recording

    return recording


# A build allocates some hundred thousand short-lived objects beside the million that the imported pulumi_aws modules
# hold; with the default thresholds the collector walks those again and again (two thirds of a build's time). A larger
# first generation lets a build's garbage go in fewer passes, and every kept build is frozen (`Builder._kept`), the
# modules it imported with it, so the collector leaves them alone.
gc.set_threshold(50_000, 20, 100)


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
    CLUSTER = "aws:ecs/cluster:Cluster"
    LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
    ASG = "aws:autoscaling/group:Group"
    CAPACITY_PROVIDER = "aws:ecs/capacityProvider:CapacityProvider"
    TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
    SERVICE = "aws:ecs/service:Service"
    LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
    LISTENER = "aws:lb/listener:Listener"
    TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
    HTTP_API = "aws:apigatewayv2/api:Api"
    VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"
    RDS_INSTANCE = "aws:rds/instance:Instance"
    RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
    KEY_PAIR = "aws:ec2/keyPair:KeyPair"


ISOLATED = {"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}
API_GATEWAY = {"front_end": "api-gateway"}
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f6e5d4c-1111-2222-3333-444455556666"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHj3Q1z9Xc8zYt0gY3k2bq5z8u0l7kqkq3n9o2k4XQ0e dev@laptop"
BASTION = {"public_key": PUBLIC_KEY, "allowed_cidrs": ["203.0.113.7/32"]}
# Every optional part and hardening option on: the builds of tests that look at all of them at once.
EVERYTHING = {
    "database": {"monitoring_interval": 60},
    "bastion": BASTION,
    "container_secrets": {"API_TOKEN": "s3cr3t"},
    "kms": True,
}
# Both front ends in both NAT modes: the matrix most tests run over.
VARIANTS = {
    "alb-nat": {},
    "alb-isolated": ISOLATED,
    "api-nat": API_GATEWAY,
    "api-isolated": {**API_GATEWAY, **ISOLATED},
}


ACCOUNT = "123456789012"


class Stack:
    """What one build recorded, with typed accessors. It holds the component's outputs resolved, not the component:
    a live component keeps its whole graph of Outputs and futures, which doubled what the collector walks and what a
    worker frees when it exits."""

    def __init__(self, recorded: list[Recorded], invokes: list[Any], outputs: dict[str, Any]) -> None:
        self.resources = recorded
        self.invokes = invokes
        self._outputs = outputs

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
        assert attribute in self._outputs, f"{attribute} is not an output of TinyStack: {sorted(self._outputs)}"
        return self._outputs[attribute]

    def rules(self) -> list[Recorded]:
        return self.of_type(T.INGRESS) + self.of_type(T.EGRESS)

    def ingress_to(self, security_group_name: str) -> list[Recorded]:
        group_id = self.named(security_group_name).id
        return [rule for rule in self.of_type(T.INGRESS) if rule.inputs["securityGroupId"] == group_id]

    def egress_from(self, security_group_name: str) -> list[Recorded]:
        group_id = self.named(security_group_name).id
        return [rule for rule in self.of_type(T.EGRESS) if rule.inputs["securityGroupId"] == group_id]

    def container_definitions(self) -> list[dict[str, Any]]:
        return json.loads(self.named(f"{self.component_name}-task").inputs["containerDefinitions"])

    @property
    def component_name(self) -> str:
        (component,) = self.of_type("tinystack:index:TinyStack")
        return component.name

    def aws_resources(self) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type.startswith("aws:")]


# Builds are deterministic, and tests only read what was recorded: each configuration is built once per session.
# In a process of its own (pytest-xdist) each worker keeps its builds, and shares them with the other workers of the
# same run through files: the first worker to need a configuration builds it, under a lock, the others load it.
_BUILDS: dict[str, Stack] = {}
_SHARED: dict[str, Path] = {}


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("tinystack_builds"):
        _SHARED["builds"] = Path(workerinput["tinystack_builds"])
    elif workerinput is None and getattr(config.option, "numprocesses", None):
        _SHARED["builds"] = Path(tempfile.mkdtemp(prefix="tinystack-builds-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's controller hands each worker the directory of this run's shared builds."""
    if "builds" in _SHARED:  # not with `--tx` alone, which starts workers without -n
        node.workerinput["tinystack_builds"] = str(_SHARED["builds"])


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and "builds" in _SHARED:
        shutil.rmtree(_SHARED.pop("builds"), ignore_errors=True)


# The longest modules go out first, longest first, and the many short ones fill the workers' ends. xdist orders modules
# by their number of tests, which put the NAT scenarios' seven last (half a minute, a third of it waiting on the
# scripts' timers): it ended the run alone (73 s against 57 s on 2 cores). Seconds measured on 2 cores.
LONGEST_MODULES = (
    "tests/test_nat_netns.py",  # 30-35
    "tests/test_config_edits.py",  # 15-18
    "tests/test_plan_cli.py",  # 8-10, with the one `python -m tinystack_component` subprocess
    "tests/test_endpoints.py",  # 5-6
    "tests/test_security.py",  # 5-6
    "tests/test_packaging.py",  # 3-4, a wheel and a fresh venv
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestModulesFirst(LoadFileScheduling):  # type: ignore[misc]
        def _assign_work_unit(self, node: Any) -> None:
            for scope in reversed(LONGEST_MODULES):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LongestModulesFirst(config, log)


class Builder:
    def __init__(self) -> None:
        self.mocks = _recording().RecordingMocks()

    def __call__(self, args: Optional[Mapping[str, Any]] = None, name: str = "web", opts: Any = None) -> Stack:
        key = self._cache_key(args, name) if opts is None else None
        if key is None:
            return self._build(args, name, opts)
        if key not in _BUILDS:
            _BUILDS[key] = self._shared_build(key, args, name)
        self.mocks.invokes = _BUILDS[key].invokes
        return _BUILDS[key]

    def _build(self, args: Optional[Mapping[str, Any]], name: str, opts: Any = None) -> Stack:
        from tinystack_component import TinyStack

        component, recorded = self.program(lambda: TinyStack(name, dict(args or {}), opts))
        resolve = _recording().resolve
        outputs = {attribute: resolve(getattr(component, attribute)) for attribute in type(component).__annotations__}
        return Stack(recorded, list(self.mocks.invokes), outputs)

    def _shared_build(self, key: str, args: Optional[Mapping[str, Any]], name: str) -> Stack:
        directory = _SHARED.get("builds")
        if directory is None:
            return self._kept(self._build(args, name))
        path = directory / hashlib.sha256(key.encode()).hexdigest()
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                return self._kept(Stack(*pickle.loads(path.read_bytes())))
            stack = self._build(args, name)
            partial = path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps((stack.resources, stack.invokes, stack._outputs)))
            partial.rename(path)
            return self._kept(stack)

    @staticmethod
    def _kept(stack: Stack) -> Stack:
        """A kept build lives as long as the session: once its garbage is gone, the collector need not walk it again."""
        gc.collect()  # everything older than the last freeze is frozen already: this walks what came since
        gc.freeze()
        return stack

    def _cache_key(self, args: Optional[Mapping[str, Any]], name: str) -> Optional[str]:
        try:
            return json.dumps([args or {}, name, self.mocks.region, self.mocks.zone_names], sort_keys=True)
        except TypeError:  # Outputs and other live values: build afresh
            return None

    def program(self, fn: Callable[[], Any]) -> tuple[Any, list[Recorded]]:
        """Run any program (a Pulumi __main__, two stacks side by side) and record what it registers."""
        return _recording().record(fn, self.mocks, stack="test")


@pytest.fixture
def build() -> Iterator[Builder]:
    yield Builder()
