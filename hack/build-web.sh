#!/usr/bin/env bash
# Builds the web UI into apiserver/webui/dist, where the Go build embeds it. npm ci runs only when
# node_modules is missing or older than the lockfile, so repeated builds take seconds.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build >/dev/null
echo "Web UI built into apiserver/webui/dist"
