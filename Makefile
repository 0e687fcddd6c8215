# The README's two commands are `make demo` and `make test`; the rest are conveniences.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency, transitive ones and the build backend included, pinned with its hashes:
# requirements.lock (runtime) and requirements-dev.lock (runtime + dev), made by `make lock`.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock

.PHONY: demo test test-fast lint venv kafka-up kafka-down bench bench-pipeline compiled screenshots secrets clean

# A virtualenv with the project and its locked dependencies, rebuilt when pyproject or the
# lock changes. pip checks every download against the lock's hashes; the project itself is
# built with the locked setuptools (no build isolation: nothing unpinned is fetched).
$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

.PHONY: lock audit

## Regenerate both lock files: run it after changing pyproject.toml. Pins still allowed are
## kept; LOCK_ARGS=--upgrade (or --upgrade-package NAME) moves them to the newest release.
LOCK_ARGS ?=
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --all-build-deps --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev -o $(DEV_LOCK) pyproject.toml
	$(PIP_COMPILE) -c $(DEV_LOCK) -o $(LOCK) pyproject.toml

## Known vulnerabilities in the locked dependencies (deploy/audit_deps.py: which service
## answered, what it found); AUDIT_ARGS=--strict also fails on pins it could not audit,
## AUDIT_ARGS='--ignore-vuln ID' accepts an advisory that was looked at.
AUDIT_ARGS ?=
audit: $(STAMP)
	$(BIN)/python deploy/audit_deps.py $(DEV_LOCK) $(AUDIT_ARGS)

## The embedded default: the simulator feeding the detectors in-process, no broker.
demo: $(STAMP)
	$(BIN)/dossierwatch demo

## Test processes in parallel: most tests wait on a broker, a worker or a browser rather
## than compute, so four share the 2 cores well (about 6 min instead of 14); the few that
## measure wall-clock pauses (marker `alone`) run afterwards by themselves.
TEST_WORKERS ?= 4

## Everything CI runs: lint (the layers and dead code included), the dependency audit,
## unit and property tests, the public logs, real Kafka.
test: lint
	$(BIN)/python deploy/audit_deps.py $(DEV_LOCK) $(AUDIT_ARGS)
	bash deploy/ensure-tools.sh
	bash deploy/kafka/kafkactl.sh up
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not alone"
	$(BIN)/pytest -m alone

## Quick loop while editing: no broker, no full-size public logs.
test-fast: $(STAMP)
	bash deploy/ensure-tools.sh
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not kafka and not real_logs" -q

## Style, types, the layers (import-linter contracts in pyproject.toml) and dead code.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture streams producers alerts tests/lint/vulture_whitelist.py --min-confidence 60

kafka-up:
	bash deploy/kafka/kafkactl.sh up

kafka-down:
	bash deploy/kafka/kafkactl.sh down

## The detection core compiled with mypyc (setup.py), unpacked into build/compiled; run
## anything with PYTHONPATH=build/compiled to use it (the pure sources stay the reference).
compiled: $(STAMP)
	bash deploy/build-compiled.sh build/compiled

bench: $(STAMP)
	$(BIN)/python bench/core_throughput.py
	$(BIN)/python bench/memory_per_dossier.py
	$(BIN)/python bench/replay_speed.py
	$(BIN)/python bench/alert_volume.py

## Through the real broker (starts it): throughput vs a bare agent, latency, breach lateness,
## live against replay.
bench-pipeline: $(STAMP)
	bash deploy/ensure-tools.sh
	bash deploy/kafka/kafkactl.sh up
	$(BIN)/python bench/pipeline_throughput.py
	$(BIN)/python bench/pipeline_latency.py
	$(BIN)/python bench/breach_lateness.py
	$(BIN)/python bench/live_vs_replay.py
	$(BIN)/python bench/gateway_throughput.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/guarantees.py

## The compose stack's secrets, into ./secrets (git-ignored): tokens, keys, webhook tokens.
secrets: $(STAMP)
	bash deploy/secrets.sh

## Refresh the documentation's screenshots (taken by the browser test into build/screenshots).
screenshots: $(STAMP)
	bash deploy/ensure-tools.sh
	bash deploy/kafka/kafkactl.sh up
	$(BIN)/pytest tests/dashboards/test_wallboard_browser.py -q
	cp build/screenshots/wallboard.png build/screenshots/dossier-timeline.png docs/

clean:
	bash deploy/kafka/kafkactl.sh down || true
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
