"""The installable package: a wheel built from this tree works on its own, in a fresh virtualenv.

Offline: the wheel is built without build isolation (setuptools comes from the locked dev group) from a copy of just
what the build reads, and uv installs it into a fresh venv, which borrows the dependencies (pulumi, pulumi_aws, ...)
already installed in the test environment through a .pth file.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinystack_component"
# Package data that must ship next to the code (the globs of [tool.setuptools.package-data]).
DATA_GLOBS = ("py.typed", "schema.json", "plan/*.json")
# What the build backend reads: the project metadata, its readme and the package.
BUILD_INPUTS = ("pyproject.toml", "README.md")
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info")
# The dev group installs uv into the test environment; a uv on PATH does as well.
UV = shutil.which("uv", path=f"{sysconfig.get_path('scripts')}{os.pathsep}{os.environ.get('PATH', '')}")
# setuptools' PEP 517 backend, called as a build frontend would (`--no-build-isolation`), without pip.
BUILD_WHEEL = "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_wheel(sys.argv[1]))"

CONSTRUCT = textwrap.dedent(
    """
    import json
    from pathlib import Path

    import tinystack_component
    from tinystack_component import TinyStack
    from tinystack_component.plan.recording import RecordingMocks, record

    args = {"front_end": "api-gateway", "database": {"engine": "postgres"}}
    component, recorded = record(lambda: TinyStack("pkg", args), RecordingMocks())
    package = Path(tinystack_component.__file__).parent
    print(json.dumps({
        "package": str(package),
        "types": sorted({resource.type for resource in recorded}),
        "names": sorted(resource.name for resource in recorded),
        "data": sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.suffix in (".json", ".typed")),
    }))
    """
)


def _run(*command: str | Path, cwd: Path) -> str:
    # No PYTHONPATH: the fresh venv must find the package through the installed wheel, not through the checkout.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy, so the build leaves no build/ or *.egg-info behind in the working tree.
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=COPY_IGNORE)
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, source / name)
    out = work / "dist"
    out.mkdir()
    built_name = _run(sys.executable, "-c", BUILD_WHEEL, out, cwd=source).strip().splitlines()[-1]
    (built,) = out.glob("*.whl")
    assert built.name == built_name
    return built


def test_wheel_holds_the_package_its_data_and_runtime_dependencies_only(wheel):
    assert wheel.name.startswith("tinystack_component-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    assert all(name.startswith(("tinystack_component/", "tinystack_component-")) for name in names), names
    expected_data = {str(p.relative_to(ROOT)) for pattern in DATA_GLOBS for p in PACKAGE.glob(pattern)}
    assert {"tinystack_component/py.typed", "tinystack_component/schema.json"} <= expected_data
    assert expected_data <= set(names)
    assert "tinystack_component/tinystack.py" in names
    assert "Name: tinystack-component" in metadata
    assert "Requires-Python: >=3.11" in metadata
    requires = sorted(
        re.match(r"Requires-Dist: ([\w.-]+)", line)[1] for line in metadata.splitlines() if "Dist:" in line
    )
    assert requires == ["pulumi", "pulumi-aws", "pulumi-awsx"]


def test_wheel_installed_in_a_fresh_venv_constructs_a_tinystack(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # uv installs into the new venv (no ensurepip, no network, no dependencies) ...
    assert UV, "uv is neither in the test environment nor on PATH (make installs the locked dev group)"
    _run(UV, "pip", "install", "--python", python, "--no-deps", "--offline", "--quiet", wheel, cwd=tmp_path)
    # ... and the new venv finds the dependencies where the test environment has them. A path in a .pth file does
    # not process that directory's own .pth files, so an editable install of this tree there stays invisible.
    site_packages = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    )
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "test_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")

    # cwd is outside the tree, so only the installed wheel can provide tinystack_component.
    result = json.loads(_run(python, "-c", CONSTRUCT, cwd=tmp_path))

    assert Path(result["package"]).is_relative_to(site_packages)
    assert "tinystack:index:TinyStack" in result["types"]
    assert {"aws:ec2/vpc:Vpc", "aws:apigatewayv2/api:Api", "aws:rds/instance:Instance"} <= set(result["types"])
    assert "pkg-vpc" in result["names"] and "pkg-database" in result["names"]
    assert {"py.typed", "schema.json"} <= set(result["data"])
