"""The multi-language schema: committed and current, every input and output described, enums as schema enums."""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tinystack_component import BastionArgs, DatabaseArgs, DatabaseEngine, FrontEnd, TinyStack, TinyStackArgs
from tinystack_component.schema import SCHEMA_PATH, generate

TOKEN = "tinystack:index:TinyStack"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def test_committed_schema_is_what_the_analyzer_generates_now():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == generate(), "schema.json is stale: run `make schema`"


def test_one_component_with_every_input_and_output(schema):
    assert schema["name"] == "tinystack"
    assert list(schema["resources"]) == [TOKEN]
    component = schema["resources"][TOKEN]
    assert component["isComponent"] is True
    assert set(component["inputProperties"]) == {camel(name) for name in TinyStackArgs.__annotations__}
    assert component["requiredInputs"] == []
    assert set(component["properties"]) == {camel(name) for name in TinyStack.__annotations__}
    for typed, ref in [(DatabaseArgs, "DatabaseArgs"), (BastionArgs, "BastionArgs")]:
        assert set(schema["types"][f"tinystack:index:{ref}"]["properties"]) == {camel(n) for n in typed.__annotations__}


def _described(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every element of the schema that users see documented: the component, its inputs and outputs, the nested
    types and their properties, and each enum value."""
    component = schema["resources"][TOKEN]
    yield TOKEN, component
    for section in ("inputProperties", "properties"):
        for name, prop in component[section].items():
            yield f"{section}.{name}", prop
    for token, typ in schema["types"].items():
        yield token, typ
        for name, prop in typ.get("properties", {}).items():
            yield f"{token}.{name}", prop
        for value in typ.get("enum", []):
            yield f"{token}.{value['name']}", value


def test_every_input_output_type_and_enum_value_has_a_description(schema):
    described = list(_described(schema))
    assert len(described) > 40
    for path, element in described:
        assert element.get("description", "").strip(), f"{path} has no description (a docstring under the field)"


def test_descriptions_read_as_prose_in_every_language(schema):
    """The analyzer copies docstrings verbatim: an indented continuation line would become a Markdown code block in
    the generated SDKs' docs, and a snake_case field name is spelled differently in TypeScript, Go, C# and YAML."""
    field_names = {
        name for typed in (TinyStackArgs, DatabaseArgs, BastionArgs) for name in typed.__annotations__ if "_" in name
    }
    for path, element in _described(schema):
        description = element["description"]
        assert not re.search(r"\n[ \t]", description), f"{path}: indented continuation line in {description!r}"
        named = {word for word in re.findall(r"[a-z0-9_]+", description) if word in field_names}
        assert not named, f"{path} names fields the Python way: {named}"


@pytest.mark.parametrize(
    ("enum", "ref", "used_at"),
    [
        (FrontEnd, "FrontEnd", ("resources", TOKEN, "inputProperties", "frontEnd")),
        (DatabaseEngine, "DatabaseEngine", ("types", "tinystack:index:DatabaseArgs", "properties", "engine")),
    ],
)
def test_enums_are_schema_enums(schema, enum, ref, used_at):
    token = f"tinystack:index:{ref}"
    typ = schema["types"][token]
    assert typ["type"] == "string"
    assert [(value["name"], value["value"]) for value in typ["enum"]] == [(m.name, m.value) for m in enum]
    prop = schema
    for key in used_at:
        prop = prop[key]
    assert prop["$ref"] == f"#/types/{token}"
    assert "type" not in prop


def test_nested_args_are_object_types_referenced_by_the_component(schema):
    inputs = schema["resources"][TOKEN]["inputProperties"]
    for name, ref in [("database", "DatabaseArgs"), ("bastion", "BastionArgs")]:
        assert inputs[name]["$ref"] == f"#/types/tinystack:index:{ref}"
        assert schema["types"][f"tinystack:index:{ref}"]["type"] == "object"
