"""Speed of a build under the mocks and of the dev stack's whole plan, in CPU seconds: `make bench`.

The goals (a full build well under a second, the dev plan under 3 s) are measured here rather than asserted in the
suite, where parallel workers and a shared machine's changing speed would make a timing flaky. CPU time, not wall:
other processes share the cores. Prints the best of a few runs after a warm-up (imports, bytecode) and exits 1 when
a goal is missed.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"full build (the defaults)": 1.0, "dev stack plan (--json)": 3.0}
RUNS = 5


def _best_cpu_seconds(run: Callable[[], object]) -> float:
    run()  # warm-up: the imports and the first build's caches
    best = float("inf")
    for _ in range(RUNS):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def _build() -> None:
    from tinystack_component import TinyStack
    from tinystack_component.plan import recording

    recording.record(lambda: TinyStack("web", {}), recording.RecordingMocks(), stack="bench")


def _plan() -> None:
    from tinystack_component.plan import cli

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["plan", "--stack", "dev", "--json", "--out", out])
    if code not in (0, 1):  # 1: the plan found violations, still a whole plan
        raise SystemExit(f"plan --stack dev exited {code}")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # the plan reads Pulumi.yaml and Pulumi.dev.yaml from the working directory
    missed = 0
    for (label, goal), run in zip(GOALS.items(), (_build, _plan), strict=True):
        seconds = _best_cpu_seconds(run)
        missed += seconds >= goal
        print(f"{label}: {seconds:.3f} s of CPU (goal: under {goal:g} s){'  MISSED' if seconds >= goal else ''}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
