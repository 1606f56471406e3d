#!/usr/bin/env bash
# Copies the generated files into a new temporary directory and prints its path, for verify-generated.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=$(mktemp -d)
hack/generated-files.sh | while read -r f; do
  mkdir -p "$dir/$(dirname "$f")"
  cp "$f" "$dir/$f"
done
echo "$dir"
