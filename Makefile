# pennyworth: every target creates the virtual environments and installs the hash-checked pins it needs, so
# each works on a fresh machine with only Python 3.11+ and make present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
WORKFLOW_VENV := .venv-workflows
WORKFLOW_STAMP := $(WORKFLOW_VENV)/.installed
CLIENTS := build/clients
CLIENTS_STAMP := $(CLIENTS)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True
export SAM_CLI_TELEMETRY := 0
export AWS_REGION ?= us-east-1

.PHONY: venv serve test lint typecheck unit browser clients check-template check-workflows build build-check format bench clean

# The app and its tests.
$(STAMP): requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Tools that pin conflicting dependencies (aws-sam-cli wants click 8.1, check-jsonschema click >= 8.5)
# live in their own virtual environments.
$(SAM_STAMP): requirements/tools/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/tools/sam.txt
	touch $(SAM_STAMP)

$(WORKFLOW_STAMP): requirements/tools/workflows.txt
	$(PYTHON) -m venv $(WORKFLOW_VENV)
	$(WORKFLOW_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/tools/workflows.txt
	touch $(WORKFLOW_STAMP)

venv: $(STAMP)

# The real Claude Code and Codex CLI for tests/test_real_clients.py: the exact versions and integrity hashes of
# tests/clients/package-lock.json, installed with `npm ci` into build/clients/ (never globally). Without node
# and npm this says so and the client tier skips.
$(CLIENTS_STAMP): tests/clients/package.json tests/clients/package-lock.json
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		mkdir -p $(CLIENTS) && cp tests/clients/package.json tests/clients/package-lock.json $(CLIENTS)/ && \
		cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error && touch .installed; \
	else \
		echo "node/npm not found: the real-client tier (Claude Code, Codex CLI) will be skipped"; \
	fi

clients: $(CLIENTS_STAMP)

## Run the gateway on 127.0.0.1:8000 (offline Bedrock double if no AWS credentials; see README).
serve: $(STAMP)
	$(BIN)/python -m pennyworth_dev $(ARGS)

## Everything CI checks: lint, mypy --strict, the test suite, the template, the workflows, and the built artefact.
test: lint typecheck unit check-template check-workflows build-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) browser clients
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian's Chromium and ChromeDriver for the console's browser tests (installed when root with apt-get;
## otherwise those tests skip and say why).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (console browser tests)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "could not install chromium: the console browser tests will skip"; \
	else echo "chromium/chromedriver absent and not installable here: the console browser tests will skip"; fi

# The handler-permission check needs SAM's translator and cfn-lint's registry schemas (both in .venv-sam), so it
# runs here as well as in `unit` (where it skips until .venv-sam exists); -s prints grants no handler needs.
check-template: $(SAM_STAMP) $(STAMP)
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_handler_permissions.py

check-workflows: $(WORKFLOW_STAMP)
	$(WORKFLOW_VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(WORKFLOW_VENV)/bin/zizmor --offline --min-severity low .github/workflows

## sam build without Docker: the layer is built from the lock for python3.13 / arm64 (see layers/).
build: $(SAM_STAMP)
	$(SAM_VENV)/bin/sam build --template template.yaml

## Size budget, lock fidelity, arm64 extensions, and a python3.13 import/run check of the artefact.
build-check: build $(STAMP)
	$(BIN)/python scripts/check_artifact.py .aws-sam/build

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Print latency/CPU/RSS figures against the Bedrock double (see docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python bench/gateway_bench.py $(ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(WORKFLOW_VENV) $(CLIENTS) .aws-sam .pytest_cache .ruff_cache
