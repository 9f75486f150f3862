# Firebreak. `make run` starts everything embedded; `make test` runs the whole suite
# against the real PostgreSQL and Redis on 127.0.0.1.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv run test lint format bench chaos e2e seed clean

help:
	@echo "make run    - Firebreak on http://127.0.0.1:8000 (embedded Postgres, worker, beat, demo data)"
	@echo "make test   - the whole suite against real Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379)"
	@echo "make lint   - ruff check, ruff format --check, mypy, import-linter"
	@echo "make bench  - the benchmark suite (see BENCHMARKS.md)"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) scripts/devserver.py

test: $(STAMP)
	$(PY) scripts/check_services.py
	$(PY) -m pytest $(PYTEST_ARGS)

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

chaos: $(STAMP)
	$(PY) -m pytest tests/chaos $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $$(ls */services.py */selectors.py */engine.py 2>/dev/null)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

seed: $(STAMP)
	$(PY) manage.py seed_demo

clean:
	rm -rf .run staticfiles
