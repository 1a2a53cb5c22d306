#!/usr/bin/env bash
# Runs every benchmark; each writes its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"
.venv/bin/python bench/worker/run.py "$@"
node bench/gateway/run.ts "$@"
node bench/gateway/jobs.ts
node bench/gateway/gateways.ts
node bench/gateway/batching.ts
node bench/gateway/flood.ts
.venv/bin/python bench/worker/windows.py
.venv/bin/python bench/worker/packing.py
.venv/bin/python bench/worker/live.py
.venv/bin/python bench/diarization/run.py
.venv/bin/python bench/worker/detect_language.py
