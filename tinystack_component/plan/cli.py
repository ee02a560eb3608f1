"""`python -m tinystack_component plan`: the stack offline, with reachability, violations, cost and a diagram.

The project is the current directory: its `Pulumi.yaml`, `Pulumi.<stack>.yaml` and the program (`__main__.py`,
or the folder Pulumi.yaml's `main` names) that `pulumi up` would run there.
"""

import argparse
import json
import runpy
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pulumi

from ..args import TinyStackArgsError
from .cost import estimate
from .diagram import write_diagram
from .failure import failure_analysis
from .project import Project, ProjectError, load_project
from .reachability import Topology, find_edges
from .recording import Recorded, RecordingMocks, record
from .report import PlanResult, as_json, as_text
from .services import service_reachability
from .violations import find_violations

CONFIG_ERRORS = (TinyStackArgsError, pulumi.ConfigMissingError, pulumi.ConfigTypeError, ProjectError)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tinystack_component", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("plan", help="show what the stack would create, who reaches what, and the cost")
    command.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    command.add_argument("--out", type=Path, default=Path("plan"), help="folder for the diagram (default: plan/)")
    return parser.parse_args(argv)


@contextmanager
def _importable(folder: Path) -> Iterator[None]:
    """The Python host runs a program with its own folder importable; so does the plan."""
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def record_stack(project: Project) -> list[Recorded]:
    """Run the project's program under the mocks, with the config the engine would hand it."""

    def program() -> None:
        pulumi.runtime.set_all_config(project.config, project.secret_keys)
        runpy.run_path(str(project.program), run_name="__main__")

    with _importable(project.program.parent):
        _, resources = record(program, RecordingMocks(project.region), project.name, project.stack)
    return resources


def plan(root: Path, stack: str, out_dir: Path) -> PlanResult:
    project = load_project(root, stack)
    resources = record_stack(project)
    topology = Topology(resources)
    edges = find_edges(topology)
    violations = find_violations(topology, edges)
    diagram = write_diagram(topology, edges, stack, out_dir)
    services = service_reachability(topology)
    losses = failure_analysis(topology)
    return PlanResult(
        stack, project.region, resources, edges, violations, estimate(topology), diagram, services, losses
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    started = time.perf_counter()
    options = parse_args(argv)
    try:
        result = plan(Path.cwd(), options.stack, options.out)
    except CONFIG_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.json:
        print(json.dumps(as_json(result), indent=2))
    else:
        print(as_text(result, time.perf_counter() - started))
    return 1 if result.violations else 0
