#!/usr/bin/env bash
# Runs every Go fuzz target in the module for DURATION each (default 10s), one at a time.
#   hack/fuzz.sh 10s
# Targets are found per package with `go test -list '^Fuzz'`; each runs as
#   go test -run='^$' -fuzz='^Name$' -fuzztime=DURATION ./pkg
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
duration=${1:-10s}

# Packages whose test files declare a fuzz target (a cheap filter before asking go test).
mapfile -t pkgs < <(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=bin --exclude-dir=.git \
  -E '^func Fuzz[A-Za-z0-9_]*\(' . | xargs -r -n1 dirname | sort -u)

total=0
failed=0
for dir in "${pkgs[@]}"; do
  pkg="./${dir#./}"
  mapfile -t targets < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
  for target in "${targets[@]}"; do
    total=$((total + 1))
    echo "--- fuzz $pkg $target ($duration)"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$duration" "$pkg"; then
      failed=$((failed + 1))
      echo "FAIL: $pkg $target (the failing input is under $dir/testdata/fuzz/$target)"
    fi
  done
done
echo "fuzz: $total targets, $failed failed"
((failed == 0))
