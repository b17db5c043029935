# The two commands: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format bench bench-smoke bench-scale-out install install-dev chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@# the Procfile's web: line is the one uvicorn command line, here as on a PaaS
	PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" sh -c "$$(sed -n 's/^web: //p' Procfile)"

# Browser tests drive the system Chromium; install Debian's package when it is missing.
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Every test on SQLite, then every server test again on PostgreSQL where one answers (CI starts
# one, so there they always run). The scale-out tests start their own Redis and use PostgreSQL.
POSTGRES_TEST_SERVER ?= postgresql://postgres@127.0.0.1:5432
# Left out of the PostgreSQL pass: tests that choose their database themselves (PostgreSQL
# always, or SQLite on purpose) and tests of parts that never touch a database.
PG_PASS_SKIPS := $(addprefix --ignore=tests/,broadcast/test_scale_out.py broadcast/test_scale_out_faults.py \
  push/test_push_scale_out.py faults/test_faults_postgres_restart.py faults/test_faults_kill.py \
  faults/test_faults_disk_full.py broadcast/test_broadcast.py server/test_settings.py media/test_media_unit.py \
  push/test_push_endpoint.py push/test_push_keys.py push/test_push_viewing.py auth/test_fairpool.py \
  server/test_slow_and_huge_requests.py observe/test_logs.py server/test_descriptor_limit.py \
  wire/test_protocol_times.py backup/test_backup_continuous.py deploy/test_deploy_install.py)
# The browser tests run in a pytest process of their own: Playwright's driver and the asyncio
# tests each want the main thread's event loop.
test: install-dev chromium
	$(BIN)/python -m pytest -q --reruns 1 --ignore=tests/browser
	$(BIN)/python -m pytest -q --reruns 1 tests/browser
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || [ -n "$$CI" ]; then \
	  echo "== the server tests again on PostgreSQL"; \
	  TEST_POSTGRES_SERVER=$(POSTGRES_TEST_SERVER) $(BIN)/python -m pytest -q --reruns 1 tests --ignore=tests/browser \
	    $(PG_PASS_SKIPS); \
	else echo "== PostgreSQL not running here: its pass is left out (CI runs it)"; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python -m bench.run

bench-smoke: install-dev
	$(BIN)/python -m bench.run --smoke

# The relay, one process on SQLite and on PostgreSQL, then scale-out on PostgreSQL + Redis.
bench-scale-out: install-dev
	$(BIN)/python -m bench.run --only 1,2,8,9,10

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
