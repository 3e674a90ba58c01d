# clicktrail: `make run` to serve, `make test` to run the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
INSTANCE := instance

.PHONY: run test lint bench soak setup db clean screenshots

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/activate

$(INSTANCE)/config.py: | $(BIN)/activate
	$(BIN)/python -m shortener.bootstrap $(INSTANCE)/config.py

setup: $(BIN)/activate $(INSTANCE)/config.py

db: setup
	$(BIN)/flask --app shortener init-db

run: db
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) 'shortener:create_app()'

test: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make bench`: the four benchmarks (README, Performance). SIZES=100k,1m,10m adds 10M clicks.
SIZES ?= 100k,1m
bench: $(BIN)/activate
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/redirect.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/reports.py --sizes $(SIZES)
	$(BIN)/python bench/dashboard.py --sizes $(SIZES)

# longer soak under gunicorn (3 runs: steady, worker killed, server crashed); prints counts
soak: $(BIN)/activate
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# rewrite the README's picture (docs/overview.png) from the browser test's seeded overview
screenshots: $(BIN)/activate
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_dashboard_browser.py -k busy_month

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
