"""The multi-language schema of TinyStack, as the Pulumi SDK's component analyzer infers it.

The analyzer reads the type annotations of `TinyStackArgs` (inputs) and of `TinyStack`'s class attributes (outputs),
and takes every description from the docstring under the field. The component provider in `provider/` serves the
same schema to the Pulumi CLI; `schema.json` next to this file is the committed copy, refreshed by `make schema`
(`python -m tinystack_component.schema`) and checked by the test suite.
"""

import json
import sys
from pathlib import Path
from typing import Optional

from pulumi.provider.experimental.component import ComponentProvider

from .tinystack import TinyStack

# The package name: the `tinystack` in the type token tinystack:index:TinyStack and in the generated SDKs' names.
PACKAGE_NAME = "tinystack"
SCHEMA_PATH = Path(__file__).with_name("schema.json")


def component_provider() -> ComponentProvider:
    """The provider `provider/__main__.py` hosts: the same components, name, namespace and version."""
    return ComponentProvider([TinyStack], PACKAGE_NAME)


def generate() -> str:
    """The schema as committed: pretty-printed, keys sorted, so a regeneration without changes is byte-identical."""
    schema = component_provider().schema
    if schema is None:
        raise RuntimeError("the component analyzer produced no schema")
    return json.dumps(json.loads(schema), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    """Write schema.json, or with --check only report whether the committed file is current."""
    args = sys.argv[1:] if argv is None else argv
    fresh = generate()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    if "--check" in args:
        if fresh != current:
            print(f"{SCHEMA_PATH} is stale: run `make schema`", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        SCHEMA_PATH.write_text(fresh, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    else:
        print(f"{SCHEMA_PATH} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
