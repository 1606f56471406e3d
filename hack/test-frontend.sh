#!/usr/bin/env bash
# Tests the web UI: install from the lockfile (skipped when node_modules already matches it), typecheck, lint,
# generated API types up to date with apiserver/openapi/openapi.yaml, unit and component tests, production build
# into apiserver/webui/dist, and the initial-JavaScript budget. Quiet on success apart from a summary; on a
# failure it prints that step's output and exits non-zero.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/frontend"
logs="$root/bin/test-logs/frontend"
mkdir -p "$logs"

# step NAME COMMAND... runs one step with its output in a log file, shown only when the step fails.
step() {
  local name=$1; shift
  if ! "$@" >"$logs/$name.log" 2>&1; then
    echo "web UI: $name FAILED:"
    tail -n 80 "$logs/$name.log"
    exit 1
  fi
}

# npm ci rewrites node_modules from scratch (slow); skip it when the installed tree matches the lockfile.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.lock-sha256 || $(cat node_modules/.lock-sha256) != "$lock_sum" ]]; then
  step install npm ci --no-audit --no-fund
  echo "$lock_sum" >node_modules/.lock-sha256
fi

step typecheck npx tsc -b --noEmit
step lint npx eslint --max-warnings 0 .
step api-types node scripts/gen-api.mjs --check
step unit env NO_COLOR=1 npx vitest run --reporter=dot
step build npx vite build
step bundle-size node scripts/bundle-size.mjs 250

tests=$(grep -Eo 'Tests +[0-9]+ passed' "$logs/unit.log" | grep -Eo '[0-9]+' | tail -n 1)
echo "web UI: ${tests:-?} tests passed; $(cat "$logs/bundle-size.log")"
