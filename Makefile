# The README's commands. Everything installs itself: uv into .tools/, the workspace into .venv/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy
# Bytecode written at install: where PYTHONDONTWRITEBYTECODE is set, every run would compile every import again.
export UV_COMPILE_BYTECODE := 1

PROJECT_FILES := uv.lock pyproject.toml contracts/pyproject.toml $(wildcard services/*/pyproject.toml)

.PHONY: help install run migrate openapi lint deploy-check test bench soak cluster-check clean token demo adherence-job audit-verify retention-job

help:
	@echo "make run      start core-api (:8000) and telemetry (:8001) on local or configured databases"
	@echo "make test     install what is missing, lint, type-check and run the whole suite"
	@echo "make migrate  apply the PostgreSQL and ClickHouse migrations"
	@echo "make openapi  regenerate contracts/openapi/*.json from the code"
	@echo "make bench    run the benchmarks (prints figures; never pass/fail)"
	@echo "make soak     the fault tests of tests/faults with long outages and loads (about 16 minutes)"
	@echo "make cluster-check  telemetry on a 2x2 ClickHouse cluster, core-api on a PostgreSQL failover (about 10 minutes)"
	@echo "make deploy-check  render every Kubernetes overlay, validate it offline, check its rules and checkov (part of make test)"
	@echo "make adherence-job  roll every active enrollment's weekly adherence forward (nightly job)"
	@echo "make retention-job  erase identities of erasure requests, delete old clinical records (nightly job)"
	@echo "make audit-verify [ORG=1]  check every organization's (or one's) audit hash chain; fails when broken"
	@echo "make demo     load the spec's example clinic into the running services (after make run)"
	@echo "make token ROLE=specialist ORG=1 USER_ID=5 [PATIENT=123]"
	@echo "             print a bearer token signed with the development key (.data/dev-keys)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(PROJECT_FILES) | $(UV)
	$(UV) sync --all-packages --frozen --python "$$(command -v $(PYTHON))"
	touch $@

# checkov (make deploy-check's policy checker) in an environment of its own, pinned by deploy/checkov/uv.lock.
CHECKOV_ENV := $(TOOLS)/checkov
$(CHECKOV_ENV)/.synced: deploy/checkov/pyproject.toml deploy/checkov/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(CHECKOV_ENV) $(UV) sync --frozen --project deploy/checkov --python "$$(command -v $(PYTHON))"
	touch $@

install: $(VENV)/.synced $(CHECKOV_ENV)/.synced

run: install
	$(BIN)/python -m tools.run

migrate: install
	$(BIN)/python -m tools.run --migrate-only

openapi: install
	$(BIN)/python -m tools.openapi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Renders deploy/k8s/overlays/* with kubectl kustomize and validates every object offline against the Kubernetes
# schemas and the upstream CRDs, the deployment rules (tools/deploy_rules.py) and checkov (tools/deploy_policy.py).
deploy-check: install
	$(BIN)/python -m tools.deploy_check

test: lint deploy-check
	$(BIN)/pytest --durations=25

bench: install
	$(BIN)/python -m bench

# The long variants of tests/faults (make test runs the short ones); prints each scenario's figures.
soak: install
	$(BIN)/python -m tools.soak

# Multi-server setups on loopback (tools/cluster_check.py): ClickHouse 2 shards x 2 replicas with ZooKeeper,
# PostgreSQL primary and two standbys failed over; prints each scenario's figures, fails when a promise is broken.
cluster-check: install
	$(BIN)/python -m tools.cluster_check

# USER_ID, not USER: make imports the shell's USER (the login name) as a variable.
token: install
	@$(if $(and $(ROLE),$(ORG),$(USER_ID)),,$(error usage: make token ROLE=specialist ORG=1 USER_ID=5 [PATIENT=123]))
	@$(BIN)/python -m tools.tokens --role $(ROLE) --org $(ORG) --user $(USER_ID) $(if $(PATIENT),--patient $(PATIENT))

demo: install
	$(BIN)/python -m tools.demo

adherence-job: install
	$(BIN)/python -m core_api.jobs.adherence_rollforward

retention-job: install
	$(BIN)/python -m core_api.jobs.retention

audit-verify: install
	$(BIN)/python -m core_api.audit.verify $(if $(ORG),--organization $(ORG))

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
