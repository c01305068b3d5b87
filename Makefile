# Two commands: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
export HOST PORT

.PHONY: run test lint bench bench-postgres bench-checks bench-replicas bench-writes bench-import lock clean system-packages

# What the tests need from the system (Debian packages): nginx, the buffering front that
# tests/integration/test_slow_clients.py puts before gunicorn; Chromium (and a font for its
# pages), the browser tests/integration/console drives through Playwright, which never
# downloads a browser of its own here.
CHROMIUM ?= /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@

# The console's demo sign-in (pick a demo person, no password) is on for `make run` only:
# the server refuses it with OpenID Connect configured or on anything but the demo data.
# A new session secret each run unless one is given.
run: $(BIN)/.installed
	$(BIN)/authz migrate
	$(BIN)/authz demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C to stop); console (demo sign-in): http://$(HOST):$(PORT)/console/"
	AUTHZ_DEMO_SIGN_IN=true \
	AUTHZ_SESSION_SECRET="$${AUTHZ_SESSION_SECRET:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(32))')}" \
	$(BIN)/authz serve

test: $(BIN)/.installed system-packages
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# Installed when missing if we are root (as CI is); otherwise a note saying what to install
# (the tests that need them then fail, naming it).
system-packages:
	@missing=""; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium fonts-liberation"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing$$missing for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "make test: the tests need$$missing; as root: apt-get install -y --no-install-recommends$$missing" >&2; \
		fi; \
	fi

# ruff (lint and format), mypy, and the import layers; .ci/run calls it before `make test`.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BIN)/.installed
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# On PostgreSQL (127.0.0.1:5432, or AUTHZ_BENCH_POSTGRES_URL): bench/README.md.
# bench-postgres: every goal of issue 13 from one run (bench/scale.py runs the scripts
# below and bench/poll_cost.py in turn: one table, bench/RESULTS-scale.md); BENCH_ARGS=--quick
# for a smoke run. The others run one script each.
bench-postgres: $(BIN)/.installed
	$(BIN)/python bench/scale.py $(BENCH_ARGS)

bench-checks: $(BIN)/.installed
	$(BIN)/python bench/production.py $(BENCH_ARGS)

bench-replicas: $(BIN)/.installed
	$(BIN)/python bench/replicas.py $(BENCH_ARGS)

bench-writes: $(BIN)/.installed
	$(BIN)/python bench/write_path.py $(BENCH_ARGS)

bench-import: $(BIN)/.installed
	$(BIN)/python bench/import_bulk.py $(BENCH_ARGS)

# deploy/requirements.lock (the image's hashed dependencies) from pyproject.toml
lock:
	PYTHON=$(PYTHON) deploy/lock.sh

clean:
	rm -rf $(VENV) var build *.egg-info
