#!/usr/bin/env bash
# `make dev`: the whole platform on this machine, without Docker or a cluster (internal/devenv does the work).
# Builds what is missing or stale — kube-apiserver, etcd and kubectl (hack/envtest-bins.sh, once), the
# llmplatform binary with the web UI (make build, only when a source is newer than bin/llmplatform) and the
# dev runner — then runs it. State (kubeconfig, etcd and PostgreSQL data, logs) lives in .dev/; pass --reset
# to start afresh. Other flags go to the runner (bin/dev -h lists them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=local

assets=$(hack/envtest-bins.sh)

# Sources of bin/llmplatform: Go packages, the web UI, and the module files.
stale() {
  [[ ! -x bin/llmplatform ]] && return 0
  [[ -n $(find api apiserver cmd controllers internal frontend/src frontend/public frontend/index.html \
    frontend/package-lock.json go.mod go.sum \
    -path apiserver/webui/dist -prune -o -type f -newer bin/llmplatform -print -quit 2>/dev/null) ]]
}
if stale; then
  echo "Building bin/llmplatform with the web UI (make build)"
  make --no-print-directory build
fi
go build -o bin/dev ./hack/dev

exec bin/dev --root "$root" --assets "$assets" "$@"
