# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false

# Rasa 3.6 runs on Python 3.10 only: python3.10 on PATH, else pyenv's 3.10.
PYTHON310 := $(shell \
  if python3.10 -c 'import sys' >/dev/null 2>&1; then command -v python3.10; \
  elif command -v pyenv >/dev/null 2>&1 && p=$$(pyenv prefix 3.10 2>/dev/null | head -n1) \
       && [ -x "$$p/bin/python3.10" ]; then echo "$$p/bin/python3.10"; fi)

.PHONY: help run test bench eval lint lock model migrate clean browser widget cluster haproxy soak

help:
	@echo "make run    set everything up and start the whole system"
	@echo "make test   set everything up and run every test"
	@echo "make bench  compare this assistant with a stock 'rasa init' bot"
	@echo "make eval   play the held-out corpus tests/eval/ and print per-category figures"
	@echo "make cluster  REPLICAS Rasa and action servers, WEB_REPLICAS web processes behind HAProxy"
	@echo "              on PostgreSQL and Redis (DATABASE_URL, REDIS_URL; docs/deployment.md)"
	@echo "make soak   the load and fault suite against a cluster of its own (docs/reliability.md)"
	@echo "make lint   ruff and mypy"
	@echo "make widget rebuild bot/web/static/widget.{js,css} from widget/src"

$(VENV)/.installed: requirements.txt pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Python 3.10 is needed (Rasa 3.6 does not run on 3.11+). Install it, e.g." >&2; \
	  echo "  pyenv install 3.10.13   or   apt-get install python3.10 python3.10-venv" >&2; \
	  exit 1; fi
	@[ -x $(PY) ] || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip check
	@touch $@

run: $(VENV)/.installed
	$(PY) -m bot run

model: $(VENV)/.installed
	$(PY) -m bot train

migrate: $(VENV)/.installed
	$(PY) -m bot migrate

test: $(VENV)/.installed browser haproxy widget/node_modules/.installed tests/webchat/node_modules/.installed
	$(PY) -m bot train
	$(PY) -m pytest -q -ra

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  || { echo "Could not install chromium: run 'apt-get install chromium' as root." >&2; exit 1; }; }

# axe-core (accessibility checks) and esbuild (widget build), exact from the lock file.
widget/node_modules/.installed: widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# rasa-webchat 1.0.1, the standard Rasa client tests/test_webchat_client.py runs against the
# server; only its prebuilt lib/index.js is used, so no install scripts run.
tests/webchat/node_modules/.installed: tests/webchat/package-lock.json
	cd tests/webchat && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

bench: $(VENV)/.installed
	$(PY) -m bench $(BENCH_ARGS)

# A measurement: exit code 0 whether or not the targets are met (docs/understanding.md).
# EVAL_ARGS e.g. "--rasa-url http://127.0.0.1:5005 --token …" to use a running system.
eval: $(VENV)/.installed
	$(PY) -m bench.evaluate $(EVAL_ARGS)

# The cluster's load balancer is Debian's haproxy (installed like chromium).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { \
	  echo "Installing Debian's haproxy for the cluster…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy \
	  || { echo "Could not install haproxy: run 'apt-get install haproxy' as root." >&2; exit 1; }; }

REPLICAS ?= 2
WEB_REPLICAS ?= 2
CLUSTER_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/polisbot_cluster
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379/0
cluster: $(VENV)/.installed haproxy
	DATABASE_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(CLUSTER_REDIS_URL)}" \
	  $(PY) -m bot cluster --replicas $(REPLICAS) --web-replicas $(WEB_REPLICAS)

soak: $(VENV)/.installed haproxy
	$(PY) -m bench.soak

lint: $(VENV)/.installed
	$(PY) -m ruff check bot actions tests bench
	$(PY) -m mypy

widget: widget/node_modules/.installed
	cd widget && node build.mjs

# Re-resolve the pins from requirements.in in a scratch virtualenv.
lock:
	rm -rf /tmp/polisbot-lock && $(PYTHON310) -m venv /tmp/polisbot-lock
	/tmp/polisbot-lock/bin/pip install --quiet -r requirements.in
	( echo "# Exact pins: pip freeze of a clean install of requirements.in (make lock)."; \
	  /tmp/polisbot-lock/bin/pip freeze ) > requirements.txt

clean:
	rm -rf $(VENV) var models
