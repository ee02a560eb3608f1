# Everything runs from a local .venv that `make` creates and keeps in step with the requirements files and
# pyproject.toml (the component is installed into it, editable).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: plan test test-netns lint typecheck format schema provider venv clean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	@echo "Installing requirements into $(VENV) (first run takes a minute)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

# The whole stack offline: resources, reachability, violations, monthly cost and plan/dev.md.
plan: $(STAMP)
	$(BIN)/python -m tinystack_component plan --stack dev

test: $(STAMP)
	$(BIN)/python -m pytest -q

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

# The component provider's virtualenv, for programs in other languages that use the local plugin in provider/.
provider:
	$(PYTHON) -m venv provider/venv
	cd provider && venv/bin/python -m pip install --quiet -r requirements.txt

clean:
	rm -rf $(VENV) provider/venv .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
