"""Run a boot script for real, as root, in private Linux namespaces that vanish with it.

`unshare --mount --net --pid --fork --kill-child` gives the script its own mount table (bind mounts over /etc stay
inside), a network namespace with only a loopback interface (nothing it starts can reach or be reached from
anywhere else), and a PID namespace: when the script ends, or the test times out and kills it, the kernel ends every
process it started and drops the namespaces. Nothing is named, so nothing can be left behind or clash with a
parallel run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UNSHARE = ("unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc")


def require(*tools: str) -> None:
    """Skip without root or the tools, with the reason; in CI (CI=true) fail instead, so the test never goes unrun."""
    missing = [tool for tool in ("unshare", *tools) if shutil.which(tool) is None]
    problems = ([] if os.geteuid() == 0 else ["not root"]) + [f"{tool} not installed" for tool in missing]
    if problems:
        message = f"needs root and {', '.join(('unshare', *tools))}: {'; '.join(problems)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run this test: .ci/run installs the tools)")
        pytest.skip(message)


def run_private(script: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a bash script in fresh mount, network and PID namespaces (see the module docstring)."""
    return subprocess.run(
        [*UNSHARE, "bash", str(script)], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
