"""The Pulumi project and stack config, read from `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the engine does.

The stack's values win over the defaults that `Pulumi.yaml` declares; keys declared there without a namespace
belong to the project's namespace (`tinystack:`). Values reach the program as the engine passes them: strings,
with lists and objects as JSON.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import as_engine_passes_it
from .recording import DEFAULT_REGION

# Secrets stay encrypted offline: the program sees this instead, and the key is marked secret.
SECRET_PLACEHOLDER = "[secret]"


class ProjectError(Exception):
    """The project or stack files are missing or unreadable."""


@dataclass(frozen=True)
class Project:
    name: str
    stack: str
    program: Path
    config: dict[str, str]
    secret_keys: list[str]

    @property
    def region(self) -> str:
        return self.config.get("aws:region", DEFAULT_REGION)


def load_project(root: Path, stack: str) -> Project:
    project = _read_yaml(root / "Pulumi.yaml", "run the plan from the project root")
    stack_file = _read_yaml(root / f"Pulumi.{stack}.yaml", f"is there a stack named {stack!r}?")
    name = str(project.get("name") or "")
    if not name:
        raise ProjectError(f"{root / 'Pulumi.yaml'} has no project name")
    declared = project.get("config") or {}
    stack_values = _namespaced(stack_file.get("config") or {}, name)
    check_declared_types(declared, stack_values, name, stack)
    values = {**declared_defaults(declared, name), **stack_values}
    secret_keys = sorted(key for key, value in values.items() if _has_secret(value))
    config = {key: as_engine_passes_it(_hide_secrets(value)) for key, value in values.items()}
    program = root / str(project.get("main") or ".") / "__main__.py"
    if not program.is_file():
        raise ProjectError(f"no program at {program}")
    return Project(name, stack, program, config, secret_keys)


def declared_defaults(declared: Mapping[str, Any], project_name: str) -> dict[str, Any]:
    """`config:` of Pulumi.yaml: each key's `default` (or `value`), under the project's namespace unless it has one."""
    defaults = {}
    for key, spec in _namespaced(declared, project_name).items():
        if not isinstance(spec, Mapping):
            defaults[key] = spec
        elif "value" in spec or "default" in spec:
            defaults[key] = spec.get("value", spec.get("default"))
    return defaults


def check_declared_types(
    declared: Mapping[str, Any], stack_values: Mapping[str, Any], project: str, stack: str
) -> None:
    """What the engine checks before it runs the program: a key declared without a default must be set, and a set
    value must have the declared type. The messages are the engine's."""
    for key, spec in sorted(_namespaced(declared, project).items()):
        if not isinstance(spec, Mapping) or "type" not in spec:
            continue
        short = key.split(":", 1)[1] if key.startswith(f"{project}:") else key
        if key not in stack_values:
            if "default" not in spec and "value" not in spec:
                raise ProjectError(f"Stack '{stack}' is missing configuration value '{short}'")
            continue
        if not _has_type(stack_values[key], spec["type"]):
            raise ProjectError(f"Stack '{stack}' with configuration key '{short}' must be of type '{spec['type']}'")


def _has_type(value: Any, type_name: str) -> bool:
    if _is_secure(value):
        return True
    if type_name == "integer":
        return not isinstance(value, bool) and (isinstance(value, int) or str(value).lstrip("-").isdigit())
    if type_name == "boolean":
        return isinstance(value, bool) or str(value) in ("true", "false")
    if type_name == "array":
        return isinstance(value, list)
    return not isinstance(value, (Mapping, list))


def _namespaced(values: Mapping[str, Any], project_name: str) -> dict[str, Any]:
    return {key if ":" in key else f"{project_name}:{key}": value for key, value in values.items()}


def _read_yaml(path: Path, hint: str) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ProjectError(f"{path} not found; {hint}") from None
    except (OSError, yaml.YAMLError) as error:
        raise ProjectError(f"cannot read {path}: {error}") from None
    if not isinstance(content, dict):
        raise ProjectError(f"{path} is not a YAML mapping")
    return content


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _has_secret(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_secret(item) for item in value.values())
    return isinstance(value, list) and any(_has_secret(item) for item in value)


def _hide_secrets(value: Any) -> Any:
    if _is_secure(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, Mapping):
        return {key: _hide_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide_secrets(item) for item in value]
    return value
