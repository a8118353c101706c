# The two commands a new user needs: `make up` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := .venv-tools

.PHONY: install up check test test-a-year-ahead test-unit test-integration test-e2e fuzz bench benchmarks replay-dlq clean

install: $(STAMP) $(TOOLS)/.installed node_modules/.installed

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev]'
	@touch $@

# The local database's Rust server, from the release that ships it, apart from the venv (see the file).
$(TOOLS)/.installed: devstack/rust-server.txt $(STAMP)
	rm -rf $(TOOLS)/secantusdb
	$(BIN)/python -m pip install --quiet --no-deps --target $(TOOLS)/secantusdb -r devstack/rust-server.txt
	@touch $@

# Test-only npm packages (package.json, pinned in package-lock.json): the official AsyncAPI JSON schemas the
# contract tests validate every service's AsyncAPI against. Without node, those tests skip and say why.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else echo "npm not found: the AsyncAPI schema tests will be skipped (install Node.js to run them)"; fi

## Start the broker, the database, an SMTP sink and the four services, with a demo tenant.
up: install
	$(BIN)/python -m devstack up

## Check the stack `make up` runs, across the services (docs/reliability.md); exits 1 on any difference.
## Options: make check ARGS='--tenant demo --expect-dead-letter <event id> --lag-timeout 60'
check: install
	$(BIN)/python -m devstack.check $(ARGS)

## Run the whole suite (what CI runs).
test: install
	$(BIN)/python -m pytest -q

## The whole suite with every clock a year ahead (Debian's faketime): a test tied to today's date fails the
## day it is written, not the day its date passes. CI runs it after `make test`.
test-a-year-ahead: install
	@command -v faketime >/dev/null || { echo "make test-a-year-ahead needs faketime (apt-get install faketime)"; exit 1; }
	faketime -f '+365d' $(BIN)/python -m pytest -q

## The three layers (`make test` runs all three): unit needs no server (about 80 s, the HTTP fuzzing included).
test-unit: install
	$(BIN)/python -m pytest -q -m unit

test-integration: install
	$(BIN)/python -m pytest -q -m integration

test-e2e: install
	$(BIN)/python -m pytest -q -m e2e

## Every service's HTTP API fuzzed from its OpenAPI, long (`make test` runs 3 examples per operation and mode,
## derandomized): FUZZ_EXAMPLES per operation and mode, FUZZ_SEED to replay a run (unset: derandomized).
FUZZ_EXAMPLES ?= 300
fuzz: install
	ARF_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),ARF_FUZZ_SEED=$(FUZZ_SEED)) $(BIN)/python -m pytest -q -s tests/fuzz

## Run every benchmark once (about 15 minutes on 2 cores) and write docs/benchmarks.md from the run.
bench: install
	$(BIN)/python -m devstack.bench

benchmarks: bench

## Re-publish a dead-letter topic to its original topic: make replay-dlq TOPIC=arf.items.dlq GROUP=indicators.changes
replay-dlq: install
	$(BIN)/python -m shared.platform.dlq replay --topic $(TOPIC) --group $(GROUP)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache test-artifacts
