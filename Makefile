# Salesops developer tasks. `make run` is the one command on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test processes in parallel (pytest-xdist): one per core, at most 8; each gets its own
# PostgreSQL and Redis database. A module runs whole in one process. TEST_WORKERS=0: serial.
TEST_WORKERS ?= auto

LOCK := requirements.lock
# `make run` is a local development run unless told otherwise (DEBUG=0 make run).
DEBUG ?= 1
# The first `make run` loads the demo company; `DEMO=0 make run` starts empty instead (the
# first page then creates the administrator). SALESOPS_DEMO in the environment works too.
DEMO ?= $(if $(SALESOPS_DEMO),$(SALESOPS_DEMO),1)

.PHONY: install lock run services stop test lint format migrations-check bench clean

install: $(STAMP)

# Re-installs only when pyproject.toml or the lock changed since the last install. The lock
# pins every package (and what they pull in), so two installs a day apart are the same.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c $(LOCK) -e ".[embedded,dev]"
	touch $(STAMP)

# Refreshes the lock from pyproject.toml (newest versions that fit); commit the result.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv>=0.5"
	$(BIN)/uv pip compile pyproject.toml --extra embedded --extra dev --universal \
		--python-version 3.11 --upgrade --custom-compile-command "make lock" -o $(LOCK)

run: install
	DEBUG=$(DEBUG) SALESOPS_DEMO=$(DEMO) $(BIN)/python manage.py serve

# Starts the embedded PostgreSQL and Redis alone (for manage.py commands in a shell).
services: install
	$(BIN)/python -m salesops.embedded start

# Stops the embedded PostgreSQL and Redis (left running by tests or a shell).
stop:
	$(BIN)/python -m salesops.embedded stop

# Uses DATABASE_URL / REDIS_URL when set, else the embedded servers.
test: install
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --maxprocesses 8 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	DEBUG=$(DEBUG) $(BIN)/python manage.py makemigrations --check --dry-run

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
