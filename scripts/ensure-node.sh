#!/usr/bin/env bash
# Prints the bin folder of a Node.js 24+ to put first on PATH.
# The system's Node is used when it is new enough; otherwise Node 24 LTS is
# installed into .tools/ from the npm registry (package `node`), which needs no
# other download site.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want=24
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$want" ]; then dirname "$(command -v node)"; exit 0; fi
fi
bin="$root/.tools/node/node_modules/.bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]')" -lt "$want" ]; then
  mkdir -p "$root/.tools/node"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$root/.tools/node" "node@$want" >&2
fi
echo "$bin"
