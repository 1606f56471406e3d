#!/usr/bin/env bash
# Lists the generated files (deepcopy, CRDs, RBAC role, the chart's copy of the CRDs), one per line.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=()
for d in api config/crd/bases config/rbac charts/llmplatform/crds charts/llmplatform/files docs; do
  [[ -d $d ]] && dirs+=("$d")
done
find "${dirs[@]}" -type f \( -name 'zz_generated*' -o -path 'config/crd/bases/*' -o -name 'role.yaml' -o -path 'charts/llmplatform/crds/*' -o -path 'charts/llmplatform/files/*' -o -name 'crd-reference.md' \) | sort
