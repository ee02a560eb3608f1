"""The examples: YAML and TypeScript programs match the schema (and construct), two Python stacks never collide.

The YAML and TypeScript programs cannot run here (no Pulumi CLI, no Node.js): every property they set is checked
against schema.json, enum values and literal types included, and their literal inputs are built through the
provider path under the mocks.
"""

import ast
import json
import re
import runpy
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import T
from tests.test_provider import construct
from tinystack_component.schema import PACKAGE_NAME, SCHEMA_PATH, component_provider

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PROVIDER_DIR = ROOT / "provider"
TOKEN = "tinystack:index:TinyStack"


class Unknown:
    """A value computed by the program (a config read, a variable): its type is not checked."""

    def __repr__(self) -> str:
        return "<computed>"


UNKNOWN = Unknown()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_problems(values: dict[str, Any], properties: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    """Every key of `values` must be a property; enums must take one of their values; literals must fit the type."""
    problems = []
    for key, value in values.items():
        where = f"{path}.{key}"
        if key not in properties:
            problems.append(f"{where}: no such property (known: {', '.join(sorted(properties))})")
            continue
        prop = properties[key]
        if isinstance(value, Unknown):
            continue
        if "$ref" in prop:
            typ = schema["types"][prop["$ref"].removeprefix("#/types/")]
            if "enum" in typ:
                allowed = [member["value"] for member in typ["enum"]]
                if value not in allowed:
                    problems.append(f"{where}: {value!r} is not one of {allowed}")
            elif not isinstance(value, dict):
                problems.append(f"{where}: expected an object, got {value!r}")
            else:
                problems += schema_problems(value, typ["properties"], schema, where)
            continue
        expected = {
            "string": str,
            "integer": int,
            "number": (int, float),
            "boolean": bool,
            "array": list,
            "object": dict,
        }
        python_type = expected[prop["type"]]
        if (isinstance(value, bool) and prop["type"] != "boolean") or not isinstance(value, python_type):
            problems.append(f"{where}: expected {prop['type']}, got {value!r}")
        elif prop["type"] == "object":
            item_type = prop["additionalProperties"]["type"]
            problems += [f"{where}.{k}: expected {item_type}" for k, v in value.items() if not isinstance(v, str)]
    return problems


def wire(values: dict[str, Any]) -> dict[str, Any]:
    """The literal inputs only, as the engine would send them."""
    return {
        key: wire(value) if isinstance(value, dict) else value
        for key, value in values.items()
        if not isinstance(value, Unknown)
    }


# --- YAML ------------------------------------------------------------------------------------------------------


def yaml_program() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text(encoding="utf-8"))


def test_yaml_example_uses_the_provider_in_this_repository():
    program = yaml_program()
    assert program["runtime"] == "yaml"
    plugin_dir = (EXAMPLES / "yaml" / program["packages"][PACKAGE_NAME]).resolve()
    assert plugin_dir == PROVIDER_DIR and (plugin_dir / "PulumiPlugin.yaml").is_file()


def test_yaml_example_sets_only_schema_properties(schema):
    program = yaml_program()
    components = {
        name: resource
        for name, resource in program["resources"].items()
        if resource["type"] in (TOKEN, "tinystack:TinyStack")
    }
    assert components, "the YAML example declares no TinyStack"
    inputs = schema["resources"][TOKEN]["inputProperties"]
    for name, resource in components.items():
        assert schema_problems(resource["properties"], inputs, schema, name) == []
    # An ALB and a database, as the README promises.
    (shop,) = components.values()
    assert shop["properties"]["frontEnd"] == "alb" and "database" in shop["properties"]

    outputs = schema["resources"][TOKEN]["properties"]
    for expression in program["outputs"].values():
        for resource_name, attribute in re.findall(r"\$\{([\w-]+)\.(\w+)\}", expression):
            assert resource_name in components and attribute in outputs, expression


def test_yaml_example_constructs_through_the_provider(build):
    (name, resource), *_ = yaml_program()["resources"].items()
    _, resources = construct(build, component_provider(), wire(resource["properties"]), name=name)
    assert T.LOAD_BALANCER in {r.type for r in resources.values()}
    assert resources[f"{name}-database"].inputs["engine"] == "postgres"
    assert resources[f"{name}-database"].inputs["deletionProtection"] is False


# --- TypeScript ------------------------------------------------------------------------------------------------


class ObjectLiteralParser:
    """Just enough of JavaScript to read an object literal: nested objects and arrays, string, number and boolean
    literals; any other expression (a call, a variable, `a ?? b`) becomes UNKNOWN. Comments are skipped."""

    TOKEN = re.compile(
        r"""\s+|//[^\n]*|/\*.*?\*/|(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`)"""
        r"""|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_$][\w$]*)|(?P<punct>\.\.\.|\?\?|\S)""",
        re.DOTALL,
    )

    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(source):
            match = self.TOKEN.match(source, position)
            assert match, f"cannot read TypeScript at: {source[position : position + 40]!r}"
            position = match.end()
            kind = match.lastgroup
            if kind:
                self.tokens.append((kind, match.group()))
        self.index = 0

    def peek(self) -> str:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.index]
        assert expected is None or token[1] == expected, f"expected {expected!r}, got {token[1]!r}"
        self.index += 1
        return token

    def find(self, *sequence: str) -> None:
        """Move just past the first occurrence of the token sequence."""
        texts = [text for _, text in self.tokens]
        for start in range(len(texts)):
            if texts[start : start + len(sequence)] == list(sequence):
                self.index = start + len(sequence)
                return
        raise AssertionError(f"{' '.join(sequence)} not found")

    def value(self) -> Any:
        if self.peek() == "{":
            return self.object()
        if self.peek() == "[":
            return self.array()
        start = self.index
        depth = 0
        while depth or self.peek() not in (",", "}", "]", ")"):
            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(self.take()[1], 0)
        if self.index - start == 1:
            kind, text = self.tokens[start]
            if kind == "string" and not text.startswith("`"):
                return ast.literal_eval(text)  # JavaScript's simple escapes are Python's
            if kind == "number":
                return float(text) if "." in text else int(text)
            if text in ("true", "false"):
                return text == "true"
        return UNKNOWN

    def object(self) -> dict[str, Any]:
        self.take("{")
        result: dict[str, Any] = {}
        while self.peek() != "}":
            assert self.peek() != "...", "spread properties are not checked; write the keys out"
            kind, key = self.take()
            key = ast.literal_eval(key) if kind == "string" else key
            if self.peek() == ":":
                self.take(":")
                result[key] = self.value()
            else:  # shorthand `{ key }`
                result[key] = UNKNOWN
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        return result

    def array(self) -> list[Any]:
        self.take("[")
        items = []
        while self.peek() != "]":
            items.append(self.value())
            if self.peek() == ",":
                self.take(",")
        self.take("]")
        return items


def test_object_literal_parser_reads_what_the_example_may_contain():
    parser = ObjectLiteralParser(
        """new tinystack.TinyStack("x", {
            a: "s", 'b': 'q"t', c: 1, d: 2.5, e: true, // comment
            f: { g: [1, "two"], h: config.get("x") ?? "y" }, /* block */ i, j: `t${k}`,
        })"""
    )
    parser.find("new", "tinystack", ".", "TinyStack", "(")
    parser.value()
    parser.take(",")
    assert parser.value() == {
        "a": "s",
        "b": 'q"t',
        "c": 1,
        "d": 2.5,
        "e": True,
        "f": {"g": [1, "two"], "h": UNKNOWN},
        "i": UNKNOWN,
        "j": UNKNOWN,
    }


def typescript_stacks() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every `const <variable> = new tinystack.TinyStack("<name>", {...})`, by variable."""
    source = (EXAMPLES / "typescript" / "index.ts").read_text(encoding="utf-8")
    stacks = {}
    for variable in re.findall(r"const\s+(\w+)\s*=\s*new\s+tinystack\.TinyStack\(", source):
        parser = ObjectLiteralParser(source)
        parser.find("const", variable, "=", "new", "tinystack", ".", "TinyStack", "(")
        name = parser.value()
        parser.take(",")
        stacks[variable] = (name, parser.value())
    return stacks


def test_typescript_example_uses_the_generated_sdk_of_this_provider():
    example = EXAMPLES / "typescript"
    package = json.loads((example / "package.json").read_text(encoding="utf-8"))
    # `pulumi package add` / `pulumi install` generate the SDK into sdks/tinystack under the name @pulumi/tinystack.
    assert package["dependencies"]["@pulumi/tinystack"] == "file:sdks/tinystack"
    assert "@pulumi/pulumi" in package["dependencies"]
    assert package["main"] == "index.ts" and (example / "index.ts").is_file()
    project = yaml.safe_load((example / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "nodejs"
    assert (example / project["packages"][PACKAGE_NAME]).resolve() == PROVIDER_DIR
    assert 'import * as tinystack from "@pulumi/tinystack";' in (example / "index.ts").read_text(encoding="utf-8")


def test_typescript_example_sets_only_schema_properties(schema):
    stacks = typescript_stacks()
    assert stacks, "the TypeScript example declares no TinyStack"
    inputs = schema["resources"][TOKEN]["inputProperties"]
    outputs = schema["resources"][TOKEN]["properties"]
    source = (EXAMPLES / "typescript" / "index.ts").read_text(encoding="utf-8")
    for variable, (_, values) in stacks.items():
        assert schema_problems(values, inputs, schema, variable) == []
        used = set(re.findall(rf"\b{variable}\.(\w+)", source))
        assert used and used <= set(outputs), used - set(outputs)


def test_typescript_example_constructs_through_the_provider(build):
    (name, values), *_ = typescript_stacks().values()
    _, resources = construct(build, component_provider(), wire(values), name=name)
    assert T.HTTP_API in {r.type for r in resources.values()}
    assert resources[f"{name}-container-instances"].inputs["instanceType"] == "t4g.small"


# --- Two stacks side by side (Python) --------------------------------------------------------------------------

TWO_STACKS = EXAMPLES / "two-stacks" / "__main__.py"
# Inputs that name something on the AWS side. Anything left unnamed, AWS or Pulumi names after the logical name.
NAME_INPUTS = (
    "name",
    "namePrefix",
    "family",
    "identifier",
    "identifierPrefix",
    "finalSnapshotIdentifier",
    "keyName",
    "keyNamePrefix",
    "bucket",
    "bucketPrefix",
)
NOT_NAMES = {("aws:rds/parameterGroup:ParameterGroup", "family"): "the engine family, such as postgres16"}
# A bucket's configuration resources name the bucket they configure, not a bucket of their own.
NOT_NAMES |= {
    (f"aws:s3/{token}", "bucket"): "the bucket it configures"
    for token in (
        "bucketPublicAccessBlock:BucketPublicAccessBlock",
        "bucketOwnershipControls:BucketOwnershipControls",
        "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "bucketPolicy:BucketPolicy",
    )
}
# Names unique only inside another object: qualified by that object's id.
SCOPED = {
    "aws:apigatewayv2/stage:Stage": ("apiId",),
    "aws:servicediscovery/service:Service": ("dnsConfig", "namespaceId"),
}


def aws_side_names(resource) -> list[tuple[str, str, str]]:
    """(scope, input, value) for every explicit AWS-side name of `resource`."""
    scope = resource.type.split(":")[1].split("/")[0]
    if resource.type in SCOPED:
        value: Any = resource.inputs
        for key in SCOPED[resource.type]:
            value = value[key]
        scope = f"{resource.type} in {value}"
    return [
        (scope, key, resource.inputs[key])
        for key in NAME_INPUTS
        if key in resource.inputs and (resource.type, key) not in NOT_NAMES
    ]


def test_two_stacks_side_by_side_collide_nowhere(build):
    def program() -> None:  # returns nothing: the mocks would await whatever it returned
        runpy.run_path(str(TWO_STACKS), run_name="__main__")

    _, recorded = build.program(program)
    components = {r.name: r for r in recorded if r.type == TOKEN}
    assert set(components) == {"web", "api"}
    stacks = {name: [r for r in recorded if r.parent_urn == component.urn] for name, component in components.items()}
    assert len(recorded) == 2 + sum(len(children) for children in stacks.values())
    web_types = {r.type for r in stacks["web"]}
    api_types = {r.type for r in stacks["api"]}
    assert T.LOAD_BALANCER in web_types and T.HTTP_API not in web_types
    assert T.HTTP_API in api_types and T.LOAD_BALANCER not in api_types
    assert T.RDS_INSTANCE in web_types and T.RDS_INSTANCE in api_types

    # Logical names: unique, so URNs and every name derived from them (auto-names of clusters, roles, log groups,
    # load balancers, ...) differ; and each starts with its component's name.
    names = [r.name for r in recorded]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    for stack, children in stacks.items():
        assert all(r.name.startswith(f"{stack}-") for r in children)

    # Explicit AWS-side names: no two resources share one within the same service (or scope).
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for resource in recorded:
        if resource.type.startswith("aws:"):
            for scope, key, value in aws_side_names(resource):
                owners[(scope, str(value))].append(f"{resource.name}.{key}")
    assert {name: who for name, who in owners.items() if len(who) > 1} == {}
    named = {who.split(".", 1)[1] for owners_of_name in owners.values() for who in owners_of_name}
    assert {"name", "family", "finalSnapshotIdentifier"} <= named, named
    for stack in stacks:
        subnet_group = next(r for r in stacks[stack] if r.type == T.RDS_SUBNET_GROUP)
        assert ("rds", f"{subnet_group.outputs['name']}-final-snapshot") in owners
    assert ("servicediscovery", "api.internal") in owners

    # Name tags, what the console shows: none shared between the two stacks.
    def name_tags(children):
        return {r.inputs["tags"]["Name"] for r in children if "Name" in r.inputs.get("tags", {})}

    assert name_tags(stacks["web"]) and not name_tags(stacks["web"]) & name_tags(stacks["api"])
