#!/usr/bin/env bash
# Fails when the generated files (deepcopy, CRDs, RBAC role, the chart's copy of the CRDs) differ from what
# the generators produce. Run it after `make manifests generate` with a snapshot taken before: the Makefile's
# verify-generated target does both. Works on uncommitted trees too: it compares against the snapshot.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
snapshot=${1:?usage: verify-generated.sh SNAPSHOT_DIR}
cd "$root"
stale=()
for f in $(cd "$snapshot" && find . -type f | sort); do
  if ! cmp -s "$snapshot/$f" "$f"; then
    stale+=("${f#./}")
  fi
done
for f in $(hack/generated-files.sh); do
  [[ -e "$snapshot/$f" ]] || stale+=("$f (new)")
done
if ((${#stale[@]})); then
  echo "Generated files were stale and have been regenerated: ${stale[*]}" >&2
  echo "Commit them (make manifests generate)." >&2
  exit 1
fi
echo "Generated files are up to date."
