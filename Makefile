# LeadFlow: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Offline by default: no telemetry from Prefect or dbt.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180

.PHONY: venv demo test lint typecheck dbt-postgres bench-routing bench-scoring bench-reliability bench-speed bench-dedupe bench-dedupe-scale bench-accounts bench-push bench-scale clean-demo help

help:
	@echo "make demo   - install, start the sandbox, run the sync once, print a summary"
	@echo "make test   - the whole test suite (what CI runs)"
	@echo "make lint   - ruff and mypy"
	@echo "make dbt-postgres - copy the warehouse (raw + ops) into PostgreSQL, build and test dbt there"
	@echo "make bench-scale [LEADS=1000000] - a full, an hourly and a no-op run at scale -> bench/results/scale.json"

# The venv is rebuilt when the pins change. constraints.txt pins the whole dependency tree.
$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LeadFlow needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/leadflow run

test: venv
	$(BIN)/pytest

# The warehouse mirrored into PostgreSQL (LEADFLOW_PG_HOST/PORT/USER/PASSWORD/DBNAME, default
# postgres@127.0.0.1:5432/leadflow) with every dbt model built and tested there: what a BI tool reads.
dbt-postgres: venv
	$(BIN)/leadflow dbt-postgres

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy leadflow connectors enrichment dedupe expectations scoring routing sandbox flows intake

# 100,000 leads over 50 weighted, capped reps through the routing engine -> bench/results/routing.json
bench-routing: venv
	$(BIN)/python bench/routing.py

# The predictive score on a 20,000-lead history export and a 20,000-person sandbox world, next to
# the rules score -> bench/results/scoring.json
bench-scoring: venv
	$(BIN)/python bench/scoring.py

# Kill points, chaos runs, hostile inputs and leak search (about 50 min) -> bench/results/reliability.json
# and the report bench/RELIABILITY.md; exits non-zero when a figure misses the bar
bench-reliability: venv
	$(BIN)/python bench/reliability.py

# Webhooks at 1, 10 and 50 leads/s into `leadflow serve` (a child process) with the sandbox as the
# CRM: p50/p95/p99 to the owner in the CRM and to the rep notified (about 5 min)
# -> bench/results/speed_to_lead.json; exits non-zero when the 10/s target is missed or a lead is lost
bench-speed: venv
	$(BIN)/python bench/speed_to_lead.py

# Identity resolution (deterministic + probabilistic, the pipeline's code) on 100,000 labelled dirty
# records of dedupe/generator.py's hard setting: pairwise precision / recall / F1 against an exact-email
# baseline, time and peak memory (about 1 min) -> bench/results/dedupe.json
# The HubSpot push of 50,000 leads against the sandbox's enforced limit (100 requests / 10 s):
# how full each window is, the 429s, a no-op re-push and a per-record baseline -> bench/results/push.json
bench-push: venv
	$(BIN)/python bench/push.py --leads 50000

bench-dedupe: venv
	$(BIN)/python bench/dedupe.py --records 100000 --incremental 0.01

# The same at 1,000,000 records (about 5 min) -> bench/results/dedupe_scale.json
bench-dedupe-scale: venv
	$(BIN)/python bench/dedupe.py --records 1000000 --no-deterministic-only --out bench/results/dedupe_scale.json

# Lead-to-account matching on 1,000,000 synthetic leads and 100,000 companies: the first match, a
# no-op run, ten new leads, one changed company (a few minutes) -> bench/results/accounts.json
bench-accounts: venv
	$(BIN)/python bench/accounts.py --leads 1000000

# One sync at LEADS people (default a million; about 1.3 raw records each): a full first run, an
# hourly run after 1 % of the leads changed and a run with nothing new, per stage, with peak memory,
# push efficiency against HubSpot's enforced limit and the issue-10 targets (up to 75 min)
# -> bench/results/scale.json and scale-$(LEADS).json
LEADS ?= 1000000
bench-scale: venv
	$(BIN)/python bench/scale.py --leads $(LEADS)

clean-demo:
	rm -rf .leadflow
