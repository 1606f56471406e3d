#!/usr/bin/env bash
# Copies the generated CRDs into the Helm chart, which installs them from its crds/ directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/charts/llmplatform/crds"
rm -f "$root/charts/llmplatform/crds/"*.yaml
cp "$root"/config/crd/bases/*.yaml "$root/charts/llmplatform/crds/"
