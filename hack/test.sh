#!/usr/bin/env bash
# Runs every test that runs without a cluster — generated-file and go.mod checks, go vet, golangci-lint, Go unit tests,
# envtest tests against a real kube-apiserver and etcd, API server tests against a real PostgreSQL, short fuzz
# runs, the web UI's tests and the browser end-to-end tests — and prints one summary line at the end.
#   hack/test.sh        everything
#   hack/test.sh go     only the Go stages
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=local
what=${1:-all}
logs="$root/bin/test-logs"
mkdir -p "$logs"

declare -a results=()
failed=0
go_summary=""

# stage NAME COMMAND... runs one stage, records how it went and how long it took.
stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  if "$@"; then
    results+=("$name: ok ($((SECONDS - start))s)")
  else
    results+=("$name: FAILED ($((SECONDS - start))s)")
    failed=$((failed + 1))
  fi
}

go_tests() {
  local assets
  assets=$(hack/envtest-bins.sh) || return 1
  export KUBEBUILDER_ASSETS=$assets
  go test -json -count=1 -timeout 25m ./... >"$logs/go-test.json" 2>&1
  local status=$?
  go run ./hack/testsummary <"$logs/go-test.json" | tee "$logs/go-summary.txt"
  local summary_status=${PIPESTATUS[0]}
  go_summary=$(tail -n 1 "$logs/go-summary.txt")
  [[ $status -eq 0 && $summary_status -eq 0 ]]
}

fuzz_tests() {
  hack/fuzz.sh 10s
}

stage "generated files" make --no-print-directory verify-generated
# go.mod must list what the code imports, direct dependencies as such (go mod tidy -diff prints the difference).
stage "go.mod tidy" go mod tidy -diff
stage "go vet" go vet ./...
# make lint installs the pinned golangci-lint into bin/ first (once) and runs it with .golangci.yml.
stage "lint" make --no-print-directory lint
stage "go tests" go_tests
[[ -x hack/fuzz.sh ]] && stage "fuzz (short)" fuzz_tests
if [[ $what == all ]]; then
  [[ -x hack/test-frontend.sh ]] && stage "web UI" hack/test-frontend.sh
  [[ -x hack/test-e2e.sh ]] && stage "end to end" hack/test-e2e.sh
fi

echo
echo "=== Summary"
printf '  %s\n' "${results[@]}"
[[ -n $go_summary ]] && echo "  $go_summary"
if ((failed)); then
  echo "make test: FAILED — $failed of ${#results[@]} stages failed (${go_summary:-no Go test counts})"
  exit 1
fi
echo "make test: PASSED — ${#results[@]} stages (${go_summary:-no Go test counts})"
