#!/usr/bin/env bash
# Runs the worker and the gateway on their defaults; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'kill 0 2>/dev/null' EXIT INT TERM
PYTHONPATH=worker .venv/bin/python -m whisper_worker &
node gateway/src/server.ts &
wait -n
