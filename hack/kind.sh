#!/usr/bin/env bash
# `make kind-up`: the platform on a local kind cluster (needs Docker and kubectl). Creates the cluster (once),
# builds the image and loads it into the cluster, installs the operator with the Helm chart, applies the demo
# tenant (the mock provider, so no API key is needed, and a quota), waits for it to be Ready and prints how to
# reach the web UI. Run it again after a change: it rebuilds and reloads the image and restarts the operator.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cluster=${KIND_CLUSTER:-llmplatform}
img=${IMG:-ghcr.io/llmplatform/llmplatform:dev}
kind=${KIND:-kind}
helm=${HELM:-helm}
kubectl=${KUBECTL:-kubectl}
ns=llmplatform-system
context="kind-$cluster"

for tool in docker "$kind" "$helm" "$kubectl"; do
  command -v "$tool" >/dev/null || { echo "kind-up: $tool is needed" >&2; exit 1; }
done

if ! "$kind" get clusters | grep -qx "$cluster"; then
  "$kind" create cluster --name "$cluster" --wait 120s
fi

make --no-print-directory docker-build IMG="$img"
"$kind" load docker-image "$img" --name "$cluster"

# The image is loaded, not pulled: pullPolicy Never. The tenants' API servers run the same image.
"$helm" upgrade --install llmplatform charts/llmplatform --kube-context "$context" \
  --namespace "$ns" --create-namespace \
  --set image.repository="${img%:*}" --set image.tag="${img##*:}" --set image.pullPolicy=Never \
  --wait --timeout 3m
"$kubectl" --context "$context" -n "$ns" rollout restart deployment/llmplatform
"$kubectl" --context "$context" -n "$ns" rollout status deployment/llmplatform --timeout 2m

# The demo: the mock provider (in the same image), the tenant and a quota, in namespace default.
sed "s#ghcr.io/llmplatform/llmplatform:dev#$img#" config/samples/mock-provider.yaml |
  "$kubectl" --context "$context" apply -f -
"$kubectl" --context "$context" apply -f config/samples/llmplatform_v1alpha1_demo.yaml \
  -f config/samples/userquota_v1alpha1_demo.yaml
echo "Waiting for the demo tenant (its PostgreSQL image is pulled on first use)…"
"$kubectl" --context "$context" wait llmplatform/demo --for=condition=Ready --timeout 5m

password=$("$kubectl" --context "$context" get secret demo-admin -o jsonpath='{.data.password}' | base64 -d)
cat <<EOF

The demo tenant is Ready. To open its web UI:

  $kubectl --context $context port-forward service/demo-apiserver 8080:80

then browse http://localhost:8080 and log in as admin / $password (or register a user).

  $kubectl --context $context get llmp,uq          # the tenant and its quota
  $kind delete cluster --name $cluster            # remove it all
EOF
