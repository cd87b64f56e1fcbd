# Two commands matter on a fresh machine: `make run` and `make test` (see README).
# Every step is idempotent: virtualenvs are built once (again only when their
# requirements change), the model is converted once, Rasa is retrained only when
# bot/ changes. Everything costly lives under $(CACHE), which git ignores.

SHELL := /bin/bash
.DEFAULT_GOAL := help

export DAOBAN_HOME ?= $(CURDIR)/var
export DAOBAN_CACHE_DIR ?= $(DAOBAN_HOME)/cache
export HF_HUB_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
CACHE := $(DAOBAN_CACHE_DIR)
APP_VENV := $(CACHE)/venv-app
RASA_VENV := $(CACHE)/venv-rasa
APP_PY := $(APP_VENV)/bin/python
DAOBAN := $(APP_PY) -m daoban
PYTHON311 := PYENV_VERSION=3.11.7 python3.11
PYTHON310 := PYENV_VERSION=3.10.13 python3.10

.PHONY: help setup run run-production stop browser test test-fast validate conversations lint bench clean-state

help:
	@echo "make run    set everything up (first time ~15 min), start Rasa, actions and the API on http://localhost:8000/"
	@echo "make stop   stop what make run started"
	@echo "make test   set up what the tests need and run them all"
	@echo "make bench  measure retrieval on the labelled questions, write docs/benchmarks.md"

$(APP_VENV)/.installed: pyproject.toml
	@test -x $(APP_PY) || $(PYTHON311) -m venv $(APP_VENV)
	$(APP_PY) -m pip install -q --upgrade pip
	$(APP_PY) -m pip install -q torch==2.13.0
	$(APP_PY) -m pip install -q -e '.[test]'
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt
	@test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q --upgrade pip
	$(RASA_VENV)/bin/python -m pip install -q -r requirements/rasa.txt
	@touch $@

.PHONY: venvs
venvs: $(APP_VENV)/.installed $(RASA_VENV)/.installed

setup: venvs
	$(DAOBAN) setup

run: setup
	$(DAOBAN) start

# Production mode on this machine's loopback PostgreSQL and Redis (docs/production.md).
run-production:
	DAOBAN_MODE=production DAOBAN_DATABASE_URL=$${DAOBAN_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/daoban} \
	  DAOBAN_REDIS_URL=$${DAOBAN_REDIS_URL:-redis://127.0.0.1:6379/0} $(MAKE) run

stop:
	@if [ -x $(APP_PY) ]; then $(DAOBAN) stop; else echo "nothing to stop"; fi

validate: venvs
	cd bot && RASA_TELEMETRY_ENABLED=false HOME=$(CACHE)/rasa-state/home PYTHONPATH=. $(RASA_VENV)/bin/rasa data validate \
	  --config config.yml --domain domain --data data --fail-on-warnings

conversations: setup
	$(DAOBAN) bot test

lint: venvs
	$(APP_VENV)/bin/ruff check daoban knowledge index actions service bench tests hall accounts journal

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium and CJK fonts for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }; \
	fi

test: setup browser validate lint conversations
	$(APP_PY) -m pytest

test-fast: venvs
	$(APP_PY) -m pytest -m "not integration and not production"

bench: setup
	$(APP_PY) -m bench.retrieval --split test
	$(APP_PY) -m bench.retrieval --split dev
	$(APP_PY) -m bench.nlu
	$(APP_PY) -m bench.chat_latency
	$(APP_PY) -m bench.dialogues --base demo --base changchun

clean-state:
	rm -rf $(DAOBAN_HOME)/daoban.db* $(DAOBAN_HOME)/index $(DAOBAN_HOME)/logs $(DAOBAN_HOME)/run $(DAOBAN_HOME)/rasa
