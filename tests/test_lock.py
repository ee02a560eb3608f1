"""One set of versions everywhere: pyproject.toml's ranges, pinned by uv.lock, installed by make, Pulumi and pip."""

import os
import re
import shutil
import subprocess
import sysconfig
import tomllib
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_REQUIREMENTS = ROOT / "provider" / "requirements.txt"
UV = shutil.which("uv", path=f"{sysconfig.get_path('scripts')}{os.pathsep}{os.environ.get('PATH', '')}")


@cache
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@cache
def _lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def _locked_version(name: str) -> str:
    (package,) = [package for package in _lock()["package"] if package["name"] == name]
    return package["version"]


def test_runtime_dependencies_are_ranges_and_the_lock_pins_them():
    dependencies = _pyproject()["project"]["dependencies"]
    assert [re.match(r"[\w-]+", line)[0] for line in dependencies] == ["pulumi", "pulumi-aws", "pulumi-awsx"]
    assert all(">=" in line and "<" in line for line in dependencies), dependencies
    for name in ("pulumi", "pulumi-aws", "pulumi-awsx"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", _locked_version(name)), name
    (project,) = [package for package in _lock()["package"] if package["name"] == "tinystack-component"]
    assert project["source"] == {"editable": "."}


def test_the_dev_group_holds_every_tool_the_suite_and_lint_run():
    tools = {re.match(r"[\w-]+", line)[0] for line in _pyproject()["dependency-groups"]["dev"]}
    assert tools == {"ruff", "mypy", "pytest", "pytest-xdist", "pyyaml", "setuptools", "moto", "awscli", "uv"}
    assert not (ROOT / "requirements.txt").exists() and not (ROOT / "requirements-dev.txt").exists()


def test_the_makefile_bootstraps_the_locked_uv_and_installs_exactly_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    (bootstrap,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert bootstrap == _locked_version("uv")
    assert "pip install --quiet uv==$(UV_VERSION)" in makefile
    assert "$(UV) sync --locked" in makefile
    assert "$(UV) lock --check" in makefile
    assert "make lock-check" in (ROOT / ".ci" / "run").read_text()


def test_pulumi_programs_install_the_lock_with_uv():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"] == {"toolchain": "uv", "virtualenv": ".venv"}
    example = ROOT / "examples" / "two-stacks"
    options = yaml.safe_load((example / "Pulumi.yaml").read_text())["runtime"]["options"]
    # Without `virtualenv`, Pulumi's uv toolchain looks upwards for uv.lock and uses the .venv beside it.
    assert options == {"toolchain": "uv"}
    assert not (example / "uv.lock").exists() and not (example / "requirements.txt").exists()
    assert (example / ".." / ".." / "uv.lock").resolve() == ROOT / "uv.lock"


def test_provider_requirements_are_the_locked_runtime_versions():
    assert UV, "uv is neither in the test environment nor on PATH (make installs the locked dev group)"
    exported = subprocess.run(
        [UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-annotate", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    lines = [line for line in PROVIDER_REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["-e ..", *exported], "provider/requirements.txt is stale: run `make requirements`"
    assert f"pulumi-aws=={_locked_version('pulumi-aws')}" in lines
