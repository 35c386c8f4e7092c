# pennyworth: every target creates .venv and installs the hash-checked pins it needs, so each works on a
# fresh machine with only Python 3.11+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: venv serve test lint format bench clean

$(STAMP): requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

## Run the gateway on 127.0.0.1:8000 (offline Bedrock double unless AWS credentials are found; see README).
serve: $(STAMP)
	$(BIN)/python -m pennyworth_dev $(ARGS)

## Lint, format check and the whole offline test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Print latency/CPU/RSS figures against the Bedrock double (see docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python bench/gateway_bench.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
