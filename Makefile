# Everything runs from a local .venv that uv creates from uv.lock: exactly the locked versions of the runtime
# dependencies (pyproject.toml's ranges) and of the dev group's tools, with the component installed editable.
# No uv on PATH? The Makefile installs the pinned uv from PyPI into .uv-bootstrap/ first: Python 3.11+ and make suffice.
PYTHON ?= python3
# Some images (this one's among them) set PYTHONDONTWRITEBYTECODE=1: every Python process, each test worker and each
# subprocess a test starts, then compiles pulumi_aws's modules from source again (3 to 5 s a process). Bytecode is
# written beside the sources in .venv instead, once.
unexport PYTHONDONTWRITEBYTECODE
UV_VERSION := 0.13.9
UV_BOOTSTRAP := .uv-bootstrap
UV ?= $(or $(shell command -v uv 2>/dev/null),$(UV_BOOTSTRAP)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Files generated from uv.lock for what installs with pip (the provider plugin): `make requirements` rewrites them.
EXPORT := $(UV) export --frozen --no-dev --no-emit-project --no-hashes --no-annotate --no-header

.PHONY: plan bench test test-netns lint typecheck format schema provider venv lock-check requirements clean

venv: $(STAMP)

# pip's --target needs no virtualenv (2 s instead of 5); a Python without pip but with venv (ensurepip) works too.
$(UV_BOOTSTRAP)/bin/uv:
	if $(PYTHON) -m pip --version >/dev/null 2>&1; then \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(UV_BOOTSTRAP) uv==$(UV_VERSION); \
	else \
	  $(PYTHON) -m venv $(UV_BOOTSTRAP) && $(UV_BOOTSTRAP)/bin/python -m pip install --quiet uv==$(UV_VERSION); \
	fi

# --locked: install exactly uv.lock, and stop if it no longer matches pyproject.toml (run `uv lock` then).
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --python $(PYTHON) --quiet
	touch $(STAMP)

# CI: uv.lock must be current against pyproject.toml.
lock-check: | $(UV)
	$(UV) lock --check

# The whole stack offline: resources, reachability, violations, monthly cost and plan/dev.md.
plan: $(STAMP)
	$(BIN)/python -m tinystack_component plan --stack dev

# The speed goals (a build under the mocks, the dev plan), in CPU seconds: measured here, not asserted in the suite.
bench: $(STAMP)
	$(BIN)/python tests/benchmark.py

# In parallel processes (pytest-xdist); each test module stays in one process, so its module fixtures run once. One
# worker more than the cores: the NAT namespace module's worker waits on the scripts' timers about a third of its half
# minute, and the extra worker's builds fill that time (on 2 cores, 3 workers finished 4 to 10 s sooner than 2).
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile

# The NAT boot script run for real in network namespaces against moto (needs root, ip, nft): `sudo make test-netns`.
test-netns: $(STAMP)
	CI=true $(BIN)/python -m pytest -q -s tests/test_nat_netns.py

# mypy's first run analyses pulumi_aws's type hints (under a minute); .mypy_cache makes later runs take a second.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy tinystack_component

typecheck: $(STAMP)
	$(BIN)/mypy tinystack_component

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate tinystack_component/schema.json from the component's type annotations and docstrings.
schema: $(STAMP)
	$(BIN)/python -m tinystack_component.schema

# The provider plugin installs with pip (as Pulumi installs it): the repository plus the locked runtime versions.
requirements: | $(UV)
	{ echo "# Generated from uv.lock by \`make requirements\`: the repository root, editable, at the locked versions."; \
	  echo "-e .."; $(EXPORT); } > provider/requirements.txt

# The component provider's virtualenv, for programs in other languages that use the local plugin in provider/.
provider:
	$(PYTHON) -m venv provider/venv
	cd provider && venv/bin/python -m pip install --quiet -r requirements.txt

clean:
	rm -rf $(VENV) $(UV_BOOTSTRAP) provider/venv .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
