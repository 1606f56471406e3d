// Package e2e holds the end-to-end tests, behind the build tag "e2e": `make dev` without a terminal (a local
// control plane, the operator, PostgreSQL, the mock provider and the dev tenant, whose API server runs as the
// operator rendered it), driven the way a user drives it; two `llmplatform apiserver` processes on one
// PostgreSQL enforcing one budget; and the installers (the Helm chart, kustomize's config/default, the
// samples) applied with server-side dry-run to a real kube-apiserver. hack/test-e2e.sh
// runs them (`go test -tags e2e ./test/e2e/`) with LLMP_BINARY (the llmplatform binary with the web UI),
// KUBEBUILDER_ASSETS, HELM and KUSTOMIZE set.
package e2e
