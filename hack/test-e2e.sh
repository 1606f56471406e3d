#!/usr/bin/env bash
# The end-to-end tests (the "end to end" stage of make test, or make e2e). Builds bin/llmplatform with the web
# UI once (make build), installs helm and kustomize into bin/, then runs
#   - the Go end-to-end tests (test/e2e, build tag e2e): make dev's environment driven by a test (register,
#     stream a chat through the mock provider, live config and key changes, statuses), two API server
#     processes on one database enforcing one budget, and the Helm chart and config/default applied with
#     server-side dry-run to a real kube-apiserver;
#   - the browser tests of the web UI (frontend/e2e, headless Chromium) against the same binary;
# and prints one result line per suite. Logs are in bin/test-logs/.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export GOTOOLCHAIN=local
logs="$root/bin/test-logs"
mkdir -p "$logs"

if ! make --no-print-directory build >"$logs/e2e-build.log" 2>&1; then
  echo "end to end: make build FAILED:"
  tail -n 40 "$logs/e2e-build.log"
  exit 1
fi
if ! tools=$(make --no-print-directory -s e2e-tools 2>"$logs/e2e-tools.log"); then
  echo "end to end: installing helm and kustomize FAILED:"
  tail -n 40 "$logs/e2e-tools.log"
  exit 1
fi
eval "$tools"
KUBEBUILDER_ASSETS=$(hack/envtest-bins.sh) || exit 1
export HELM KUSTOMIZE KUBEBUILDER_ASSETS LLMP_BINARY="$root/bin/llmplatform"

failed=0
start=$SECONDS
go vet -tags e2e ./test/e2e/ || failed=1
go test -tags e2e -json -count=1 -timeout 10m ./test/e2e/ >"$logs/e2e-go.json" 2>&1
status=$?
go run ./hack/testsummary <"$logs/e2e-go.json" >"$logs/e2e-go-summary.txt"
summary_status=$?
if ((status || summary_status)); then
  cat "$logs/e2e-go-summary.txt"
  echo "end to end (Go): FAILED ($((SECONDS - start))s): $(tail -n 1 "$logs/e2e-go-summary.txt")"
  failed=1
else
  echo "end to end (Go): ok ($((SECONDS - start))s): $(tail -n 1 "$logs/e2e-go-summary.txt")"
fi

start=$SECONDS
if (cd frontend && npm run --silent e2e) >"$logs/e2e-browser.log" 2>&1; then
  echo "end to end (browser): ok ($((SECONDS - start))s): $(grep -E '^# (pass|fail) ' "$logs/e2e-browser.log" | tr '\n' ' ')"
else
  tail -n 80 "$logs/e2e-browser.log"
  echo "end to end (browser): FAILED ($((SECONDS - start))s); log: $logs/e2e-browser.log"
  failed=1
fi
exit $failed
