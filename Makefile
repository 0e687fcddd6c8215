# The README's two commands are `make demo` and `make test`; the rest are conveniences.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv kafka-up kafka-down bench bench-pipeline clean

# A virtualenv with the project and its pinned dependencies, rebuilt when pyproject changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## The embedded default: the simulator feeding the detectors in-process, no broker.
demo: $(STAMP)
	$(BIN)/dossierwatch demo

## Everything CI runs: lint, unit and property tests, the public logs, real Kafka.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	bash deploy/ensure-tools.sh
	bash deploy/kafka/kafkactl.sh up
	$(BIN)/pytest

## Quick loop while editing: no broker, no full-size public logs.
test-fast: $(STAMP)
	bash deploy/ensure-tools.sh
	$(BIN)/pytest -m "not kafka and not real_logs" -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

kafka-up:
	bash deploy/kafka/kafkactl.sh up

kafka-down:
	bash deploy/kafka/kafkactl.sh down

bench: $(STAMP)
	$(BIN)/python bench/core_throughput.py
	$(BIN)/python bench/memory_per_dossier.py
	$(BIN)/python bench/replay_speed.py

## Through the real broker (starts it): throughput vs a bare agent, latency, breach lateness.
bench-pipeline: $(STAMP)
	bash deploy/kafka/kafkactl.sh up
	$(BIN)/python bench/pipeline_throughput.py
	$(BIN)/python bench/pipeline_latency.py
	$(BIN)/python bench/breach_lateness.py

clean:
	bash deploy/kafka/kafkactl.sh down || true
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
