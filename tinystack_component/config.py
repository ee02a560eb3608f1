"""Stack config (`tinystack:*` keys in Pulumi.<stack>.yaml) to TinyStackArgs.

Pure functions over the raw config map, so the program (`__main__.py`), `make plan` and the tests share one
mapping. Every error names the config key: a wrong type, an unknown key (with the closest known one, so a typo
such as `contanerPort` is never silently ignored), or a value the component refuses.
"""

import json
import re
import typing
from collections.abc import Awaitable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

import pulumi

from .args import DEFAULTS, TinyStackArgs, TinyStackArgsError
from .validation import unknown_name, validate

NAMESPACE = "tinystack"


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


def snake(camel_case: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel_case).lower()


@dataclass(frozen=True)
class ConfigKey:
    field: str
    kind: str  # string, integer, boolean, array or object (the Pulumi.yaml type; object is not declarable there)
    nested: Optional[type] = None  # the TypedDict whose fields an object's camelCase keys map to
    # The engine makes every key that Pulumi.yaml declares without a default mandatory, so optional keys are declared
    # with this "not set" default ("", 0 or []), and a value equal to it leaves the field to the component.
    unset: Any = None

    @property
    def key(self) -> str:
        return camel(self.field)

    @property
    def declared(self) -> bool:
        """Whether Pulumi.yaml declares the key. Objects cannot be typed there, and a boolean whose default the
        component derives has no "not set" value: a declared default would reach the program as if it were set."""
        return self.kind != "object" and (self.kind != "boolean" or DEFAULTS[TinyStackArgs][self.field] is not None)


# The engine's "not set" value per kind, for fields whose default is None (off, or derived by the component).
_UNSET = {"string": "", "integer": 0, "array": []}


def _kind(annotation: Any) -> str:
    """The Pulumi.yaml type of a TypedDict annotation; pulumi.Input[str] (a Union with str) is a string."""
    origin = typing.get_origin(annotation)
    if annotation is bool or annotation is int:
        return "boolean" if annotation is bool else "integer"
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return "string"
    if origin is list:
        return "array"
    if typing.is_typeddict(annotation) or origin is Mapping:
        return "object"
    if origin is typing.Union and str in typing.get_args(annotation):
        return "string"
    raise TypeError(f"no config kind for {annotation!r}")


def _config_key(field: str, annotation: Any) -> ConfigKey:
    kind = _kind(annotation)
    nested = annotation if typing.is_typeddict(annotation) else None
    unset = _UNSET.get(kind) if DEFAULTS[TinyStackArgs][field] is None else None
    return ConfigKey(field, kind, nested, unset)


# Derived from TinyStackArgs' annotations, so a new field has its config key without another declaration.
CONFIG_KEYS: dict[str, ConfigKey] = {
    entry.key: entry for entry in (_config_key(field, hint) for field, hint in TinyStackArgs.__annotations__.items())
}

_EXPECTED = {
    "string": "expected a string",
    "integer": "expected a whole number",
    "boolean": "expected true or false",
    "array": "expected a list, e.g. `pulumi config set --path 'tinystack:{key}[0]' value`",
    "object": "expected an object, e.g. `pulumi config set --path 'tinystack:{key}.name' value`",
}


def _error(key: str, value: Any, kind: str) -> TinyStackArgsError:
    return TinyStackArgsError(snake(key.split(".")[-1]), value, _EXPECTED[kind].format(key=key), key)


def _unknown_key(key: str, value: Any, known: Sequence[str]) -> TinyStackArgsError:
    leaf = key.rsplit(".", 1)[-1]
    prefix = f"{NAMESPACE}:{key[: -len(leaf)]}"
    return TinyStackArgsError(key, value, unknown_name(leaf, known, prefix, "keys"), key)


def _parse(key: str, raw: Any, kind: str) -> Any:
    """Config values arrive as strings (JSON for lists and objects); values from code may already be typed."""
    value = raw
    if isinstance(raw, str) and kind != "string":
        try:
            value = json.loads(raw)
        except ValueError:
            raise _error(key, raw, kind) from None
    types: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "boolean": (bool,),
        "array": (list,),
        "object": (dict,),
    }
    if not isinstance(value, types[kind]) or (kind == "integer" and isinstance(value, bool)):
        raise _error(key, raw, kind)
    return value


def _nested(key: str, value: Mapping[str, Any], typed: type) -> dict[str, Any]:
    known = [camel(name) for name in typed.__annotations__]
    converted = {}
    for name, item in value.items():
        if name not in known:
            raise _unknown_key(f"{key}.{name}", item, known)
        field = snake(name)
        converted[field] = _as_text(item) if typed.__annotations__[field] is str else item
    return converted


def _as_text(value: Any) -> Any:
    """`pulumi config set --path` stores 16 or 8.0 as numbers; a field that takes text gets them as written."""
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return value


def args_from_config(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> TinyStackArgs:
    """Map `tinystack:*` config (keys with or without the namespace) to validated TinyStackArgs."""
    args: dict[str, Any] = {}
    for full_key, raw_value in raw.items():
        namespace, _, key = full_key.rpartition(":")
        if namespace and namespace != NAMESPACE:
            continue
        entry = CONFIG_KEYS.get(key)
        if entry is None:
            raise _unknown_key(key, raw_value, list(CONFIG_KEYS))
        value = _parse(key, raw_value, entry.kind)
        if entry.unset is not None and value == entry.unset:
            continue
        if entry.nested is not None:
            value = _nested(key, value, entry.nested)
        elif entry.kind == "object":
            value = {name: _as_text(item) for name, item in value.items()}
        field = entry.field
        if f"{NAMESPACE}:{key}" in secret_keys:
            value = _keep_secret(entry, value)
            if field == "container_environment":
                # A secret environment goes to Secrets Manager, never into the task definition.
                field = "container_secrets"
        args[field] = {**args[field], **value} if field in args else value
    try:
        validate(args)
    except TinyStackArgsError as error:
        raise error.with_config_key(config_key_for(error.field)) from None
    return args  # type: ignore[return-value]


def _keep_secret(entry: ConfigKey, value: Any) -> Any:
    """Secret config stays secret in state where the field accepts an Output (pulumi.Input), or its values do."""
    annotation = TinyStackArgs.__annotations__[entry.field]
    if _is_input(annotation):
        return pulumi.Output.secret(value)
    if typing.get_origin(annotation) is Mapping and _is_input(typing.get_args(annotation)[1]):
        return {name: pulumi.Output.secret(item) for name, item in value.items()}
    return value


def _is_input(annotation: Any) -> bool:
    """pulumi.Input[T] is Union[T, Awaitable[T], "Output[T]"]: the Awaitable marks it."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else ()
    return any(typing.get_origin(member) is Awaitable for member in members)


def config_key_for(field_path: str) -> str:
    """`bastion.allowed_cidrs[0]` → `bastion.allowedCidrs[0]`; keys of tags and the environment stay as written."""
    head, _, rest = field_path.partition(".")
    entry = CONFIG_KEYS.get(camel(head))
    if entry is not None and entry.nested is not None and rest:
        name, bracket, index = rest.partition("[")
        return f"{head}.{camel(name)}{bracket}{index}"
    return camel(head) + (f".{rest}" if rest else "")


def for_config(error: TinyStackArgsError) -> TinyStackArgsError:
    """An error of the component as a stack's user reads it: naming the config key of its field, when it has one
    (the component's own name is the project's, not config)."""
    head = error.field.partition(".")[0].partition("[")[0]
    if error.config_key is not None or camel(head) not in CONFIG_KEYS:
        return error
    return error.with_config_key(config_key_for(error.field))


def as_engine_passes_it(value: Any) -> str:
    """A value from Pulumi.<stack>.yaml as the engine hands it to the program: strings as they are, the rest JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def read_stack_config() -> tuple[dict[str, Any], set[str]]:
    """Every `tinystack:*` value the engine gave the program, and which of them are secret."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return {key: value for key, value in values.items() if key.startswith(f"{NAMESPACE}:")}, secret
