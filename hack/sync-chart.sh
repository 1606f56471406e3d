#!/usr/bin/env bash
# Copies generated files into the Helm chart: the CRDs (installed from crds/) and the operator's RBAC rules
# (files/manager-rules.yaml, read by templates/rbac.yaml). `make manifests` runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/charts/llmplatform"
mkdir -p "$chart/crds" "$chart/files"
rm -f "$chart/crds/"*.yaml
cp "$root"/config/crd/bases/*.yaml "$chart/crds/"
role="$root/config/rbac/role.yaml"
if [[ -f $role ]]; then
  {
    echo "# Generated from config/rbac/role.yaml by hack/sync-chart.sh. DO NOT EDIT."
    sed -n '/^rules:$/,$p' "$role" | tail -n +2
  } >"$chart/files/manager-rules.yaml"
else
  echo "# Generated from config/rbac/role.yaml by hack/sync-chart.sh. DO NOT EDIT." >"$chart/files/manager-rules.yaml"
  echo "[]" >>"$chart/files/manager-rules.yaml"
fi
