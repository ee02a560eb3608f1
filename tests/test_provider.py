"""TinyStack as a component provider: the plugin in provider/, and construction from what other languages send.

A TypeScript, Go, C#, Java or YAML program reaches TinyStack through the engine's Construct call. The provider gets
the inputs as a protobuf Struct under the schema's camelCase names; the SDK turns it into plain Python values (every
number a float, enums as strings, nested args as plain dicts) and ComponentProvider.map_inputs renames the keys to
snake_case and turns enum strings into enum members. These tests feed TinyStack exactly that, under the mocks.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.errors import InputPropertyError
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.sync_await import _sync_await

from tests.conftest import PUBLIC_KEY, T
from tinystack_component import DatabaseEngine, FrontEnd, TinyStackArgsError
from tinystack_component.plan.recording import resolve
from tinystack_component.schema import SCHEMA_PATH, component_provider

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_DIR = ROOT / "provider"
TOKEN = "tinystack:index:TinyStack"

# What a YAML or TypeScript program sets, as the engine sends it (camelCase, JSON values).
FULL = {
    "frontEnd": "alb",
    "containerPort": 8080,
    "containerCpu": 256,
    "containerMemory": 384,
    "instanceCount": 2,
    "maxCount": 5,
    "healthCheckPath": "/healthz",
    "containerEnvironment": {"LOG_LEVEL": "debug", "featureFlag": "on"},
    "tags": {"CostCenter": "4711", "team_name": "payments"},
    "database": {"engine": "mysql", "allocatedStorage": 30, "backupRetentionDays": 14, "multiAz": True},
    "bastion": {"publicKey": PUBLIC_KEY, "allowedCidrs": ["203.0.113.7/32"]},
}


@pytest.fixture(scope="module")
def provider():
    return component_provider()


def wire_inputs(wire: dict[str, Any]) -> dict[str, Any]:
    """What ProviderServicer hands ComponentProvider.construct for a Construct request carrying `wire`."""
    struct = struct_pb2.Struct()
    struct.update(wire)
    return _sync_await(ProviderServicer._construct_inputs(struct, {}))


def construct(build, provider, wire: dict[str, Any], name: str = "web"):
    def program():
        return provider.construct(name, TOKEN, wire_inputs(wire), pulumi.ResourceOptions())

    result, recorded = build.program(program)
    return result, {resource.name: resource for resource in recorded}


def test_construct_receives_plain_dicts_enum_members_and_floats(provider):
    inputs = wire_inputs(FULL)
    assert inputs["containerPort"] == 8080.0 and isinstance(inputs["containerPort"], float)
    assert inputs["database"]["allocatedStorage"] == 30.0

    mapped = provider.map_inputs(inputs, provider._component_defs["TinyStack"])

    assert mapped["front_end"] is FrontEnd.ALB
    assert type(mapped["container_port"]) is float and type(mapped["database"]["allocated_storage"]) is float
    assert mapped["database"] == {
        "engine": DatabaseEngine.MYSQL,
        "allocated_storage": 30.0,
        "backup_retention_days": 14.0,
        "multi_az": True,
    }
    assert mapped["bastion"] == {"public_key": PUBLIC_KEY, "allowed_cidrs": ["203.0.113.7/32"]}
    # Map keys are data, not field names: they arrive as the program wrote them.
    assert mapped["tags"] == {"CostCenter": "4711", "team_name": "payments"}
    assert mapped["container_environment"] == {"LOG_LEVEL": "debug", "featureFlag": "on"}


def test_construct_builds_the_stack_from_plain_inputs(build, provider):
    result, resources = construct(build, provider, FULL)

    container = json.loads(resources["web-task"].inputs["containerDefinitions"])[0]
    # Whole numbers again: ECS rejects 8080.0 as a port, and 256.0 as CPU units.
    assert container["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    assert (container["cpu"], container["memory"]) == (256, 384)
    assert {"name": "LOG_LEVEL", "value": "debug"} in container["environment"]
    assert {"name": "DB_PORT", "value": "3306"} in container["environment"]
    assert "web-allow-alb-to-containers-tcp-8080-in" in resources
    assert resources["web-targets"].inputs["healthCheck"]["path"] == "/healthz"

    database = resources["web-database"].inputs
    assert (database["engine"], database["allocatedStorage"], database["backupRetentionPeriod"]) == ("mysql", 30, 14)
    assert database["multiAz"] is True
    assert resources["web-bastion"].type == T.INSTANCE
    assert (resources["web-asg"].inputs["minSize"], resources["web-asg"].inputs["maxSize"]) == (2, 5)
    assert resources["web-vpc"].inputs["tags"] == {"CostCenter": "4711", "team_name": "payments", "Name": "web-vpc"}

    # What goes back to the engine: every output of the schema, under its schema name.
    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(result.state) == set(schema["resources"][TOKEN]["properties"])
    assert resolve(result.state["url"]).startswith("http://web-alb-")
    assert resolve(result.state["databasePort"]) == 3306
    assert resolve(result.state["bastionSshCommand"]) == "ssh ec2-user@198.51.100.10"


def test_construct_with_api_gateway_and_isolated_subnets(build, provider):
    wire = {
        "frontEnd": "api-gateway",
        "nat": False,
        "containerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
        "availabilityZones": ["us-east-1a", "us-east-1b"],
    }
    result, resources = construct(build, provider, wire, name="api")
    types = {resource.type for resource in resources.values()}
    assert T.HTTP_API in types and T.LOAD_BALANCER not in types
    assert "api-nat-instance" not in resources
    assert {r.inputs["availabilityZone"] for r in resources.values() if r.type == T.SUBNET} == {
        "us-east-1a",
        "us-east-1b",
    }
    assert resolve(result.state["subnetKind"]) == "isolated"
    assert resolve(result.state["loadBalancerDnsName"]) is None


def test_construct_reports_bad_values_with_the_field_name(build, provider):
    with pytest.raises(ComponentInitError) as raised:
        construct(build, provider, {"containerPort": 70000})
    # The SDK wraps errors raised by the component, so the engine can tell them from its own.
    assert isinstance(raised.value.__context__, TinyStackArgsError)
    assert "container_port" in str(raised.value)
    assert build.mocks.inputs == {}

    with pytest.raises(InputPropertyError, match="frontEnd"):
        construct(build, provider, {"frontEnd": "nlb"})


def test_plugin_manifest_and_requirements_install_this_package():
    manifest = yaml.safe_load((PROVIDER_DIR / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python"}
    requirements = [
        line.strip()
        for line in (PROVIDER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Pulumi runs pip from the plugin directory: `..` is the repository root and its pyproject.toml; the rest pins
    # the locked runtime versions (tests/test_lock.py checks they are the lock's).
    assert requirements[0] == "-e .."
    assert requirements[1:] and all(re.fullmatch(r"[\w.-]+==[\w.+-]+", line) for line in requirements[1:])
    assert (PROVIDER_DIR / ".." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert 'name = "tinystack-component"' in (ROOT / "pyproject.toml").read_text()


def test_plugin_serves_the_committed_schema_over_grpc(tmp_path):
    # Started the way pulumi-language-python starts a plugin: `python <plugin dir> <engine address>`, and from
    # elsewhere, so the import of tinystack_component can only come from the installed package.
    plugin = subprocess.Popen(
        [sys.executable, str(PROVIDER_DIR), "127.0.0.1:1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert plugin.stdout is not None
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), f"the plugin did not start: {plugin.stderr.read() if plugin.stderr else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            served = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
    finally:
        plugin.kill()
        plugin.wait()
    assert json.loads(served.schema) == json.loads(SCHEMA_PATH.read_text())
    assert info.version == "0.0.0"
