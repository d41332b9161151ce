# Five-party linkage: `make run` brings the system up on a local stack,
# `make test` installs what it needs and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help venv stack stop status run test test-fast test-browser bench bench-growth faults up down clean ops-tools

help:
	@echo "make run        local stack + the five services (Ctrl-C stops them)"
	@echo "make test       install, start the stack, run every test"
	@echo "make test-fast  the tests not marked slow"
	@echo "make test-browser  the consoles in a real Chromium (browser_tests/)"
	@echo "make stack|stop|status   the local RabbitMQ and MongoDB-protocol database"
	@echo "make bench      the throughput and latency benchmark (see BENCHMARKS.md)"
	@echo "make bench-growth  latency against stored data, 1k/10k/100k linkages, on a private stack"
	@echo "make faults     fault injection with a ledger, each scenario on a private stack (RELIABILITY.md)"
	@echo "make up|down    the whole system under docker compose"

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

stack: venv
	VENV_PYTHON=$(BIN)/python scripts/stack.sh up

stop:
	scripts/stack.sh down

status:
	scripts/stack.sh status

run: stack
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/run.sh

ops-tools:
	@if [ -x scripts/install-ops-tools.sh ]; then scripts/install-ops-tools.sh; fi

# The browser tests are their own pytest run (browser_tests/pytest.ini: no
# eventlet monkey-patching, under which Playwright hangs).
BROWSER_TESTS = VENV_PYTHON=$(BIN)/python scripts/install-browser-tools.sh \
	&& PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest browser_tests $(BROWSER_PYTEST_ARGS)

# tests/e2e alongside the other tests and then the browser tests (scripts/test.sh).
test: stack ops-tools
	PATH=$(CURDIR)/$(BIN):$$PATH VENV_PYTHON=$(BIN)/python BROWSER_PYTEST_ARGS="$(BROWSER_PYTEST_ARGS)" \
		scripts/test.sh $(PYTEST_ARGS)

test-browser: stack
	$(BROWSER_TESTS)

test-fast: stack
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: stack
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bench $(BENCH_ARGS)

# Starts a private stack of its own (scripts/stack.sh with another STACK_DIR, free
# ports), so it needs the venv, not the local stack. BENCH_GROWTH_ARGS="--sizes 200,1000
# --samples 20" for the smoke run, "--backend sqlite", "--sizes 1000,10000" etc.
bench-growth: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bench.growth $(BENCH_GROWTH_ARGS)

# Each scenario starts its own stack on ports of its own (scripts/stack.sh with
# another STACK_DIR), so this needs the venv, not the local stack; stack.sh
# installs RabbitMQ and builds FerretDB if they are missing.
# FAULTS_ARGS="--quick" for the short version, "--scenario 7 --outage 120" etc.
faults: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m faults $(FAULTS_ARGS)

up:
	@test -f .env || ops/init-env.sh
	docker compose up --detach --build --wait

down:
	docker compose down

clean:
	rm -rf $(VENV) .pytest_cache bench-results faults-results
