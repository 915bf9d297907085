# Sanmai — the README's two commands are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
UV_VERSION := 0.13.9
VENV := .venv
UV := .tools/bin/uv
FLASK := $(VENV)/bin/flask --app app
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# One catalogue per package (merged at run time): no shared .po file to fight over.
CATALOGUES := translations accounts/translations projects/translations attachments/translations \
	tickets/translations minutes/translations exports/translations reports/translations \
	redmine/translations

APT_RUN := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk fontconfig
APT_TEST := chromium poppler-utils slapd ldap-utils openssl nginx-light redmine redmine-sqlite thin mariadb-server

.PHONY: run test serve setup setup-test db demo system-deps system-deps-test translations \
	messages lint format bench bench-data bench-redmine-data \
	bench-redmine-import bench-redmine clean help

help:
	@echo "make run    set up and start the app on SQLite with demo data"
	@echo "make test   set up and run the whole test suite"
	@echo "make serve  run under gunicorn (production-like); make lint; make messages"
	@echo "make bench  benchmark at city scale (make bench-data makes its data; bench/README.md)"

run: setup db
	@$(FLASK) demo logins
	@echo "Sanmai is starting on http://$(HOST):$(PORT)/  (stop with Ctrl-C)"
	@$(FLASK) run --host $(HOST) --port $(PORT)

test: setup-test
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

serve: setup db
	$(VENV)/bin/gunicorn --workers $${WORKERS:-2} --bind $(HOST):$(PORT) --access-logfile - app:app

setup: system-deps $(VENV)/.run-installed translations

setup-test: system-deps system-deps-test $(VENV)/.test-installed translations

db:
	@$(FLASK) db upgrade
	@$(FLASK) setup
	@$(FLASK) demo load

$(UV):
	@$(PYTHON) -m venv .tools 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv .tools; \
	  else echo "Python's venv module is missing: sudo apt-get install python3-venv"; exit 1; fi; }
	@.tools/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION) 2>&1 | grep -v "^WARNING: Location" || true
	@test -x $(UV)

$(VENV)/.run-installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --no-dev
	@rm -f $(VENV)/.test-installed && touch $@

$(VENV)/.test-installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --group test
	@touch $(VENV)/.run-installed $@

system-deps:
	@APT="$(APT_RUN)" ./scripts/ensure-apt

system-deps-test:
	@APT="$(APT_TEST)" ./scripts/ensure-apt

translations: $(VENV)/.run-installed
	@for d in $(CATALOGUES); do \
	  if [ -d $$d ]; then $(VENV)/bin/pybabel compile -d $$d 2>&1 | grep -v "^catalog.*is marked as fuzzy" || true; fi; \
	done

# Extract the strings of each package into its own catalogue and merge them into ja/en.
messages: $(VENV)/.run-installed
	@$(VENV)/bin/python scripts/messages.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmark at city scale, not part of `make test`: see bench/README.md.
# bench-data makes bench/data/bench.db (or, with DATABASE_URL, a PostgreSQL database).
$(VENV)/.bench-installed: uv.lock pyproject.toml $(VENV)/.test-installed | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --group test --group bench
	@touch $(VENV)/.run-installed $(VENV)/.test-installed $@

bench-data: setup $(VENV)/.bench-installed
	$(VENV)/bin/python bench/generate.py

bench: setup $(VENV)/.bench-installed
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

# A real Redmine 5 database of a city's size (Debian's redmine, redmine-sqlite and thin
# installed) in bench/data/redmine.sqlite3, for timing `flask redmine import`.
bench-redmine-data: setup
	$(VENV)/bin/python bench/redmine_data.py $(REDMINE_DATA_ARGS)

# Time that import into a fresh Sanmai database (REDMINE_IMPORT_ARGS="--database both" with
# DATABASE_URL naming a PostgreSQL server; "--source rest [--servers 2]" through Redmine's
# REST API, Redmine serving the file): bench/results/redmine-import.json.
bench-redmine-import: setup $(VENV)/.bench-installed
	$(VENV)/bin/python bench/redmine_import.py $(REDMINE_IMPORT_ARGS)

# Sanmai beside Redmine on the same data, in one run: bench/results/redmine.json
# (REDMINE_BENCH_ARGS="--issues 2000 --journals 10000" for a small data set).
bench-redmine: setup $(VENV)/.bench-installed
	@APT="redmine redmine-sqlite thin" ./scripts/ensure-apt
	$(VENV)/bin/python bench/redmine_side.py $(REDMINE_BENCH_ARGS)

clean:
	rm -rf .tools $(VENV) instance
