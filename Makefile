# LLMPlatform — developer entry points. `make help` lists them.

IMG ?= ghcr.io/llmplatform/llmplatform:dev
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export GOTOOLCHAIN := local

LOCALBIN := $(CURDIR)/bin
export PATH := $(LOCALBIN):$(PATH)

## Tool versions (installed into bin/ with go install; each is the newest that builds with Go 1.26).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
HELM_VERSION ?= v3.22.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KIND_VERSION ?= v0.33.0

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KIND ?= $(LOCALBIN)/kind-$(KIND_VERSION)
KUBECTL ?= kubectl

LDFLAGS := -s -w \
	-X github.com/llmplatform/llmplatform/internal/version.Version=$(VERSION) \
	-X github.com/llmplatform/llmplatform/internal/version.Commit=$(COMMIT) \
	-X github.com/llmplatform/llmplatform/internal/version.BuildDate=$(BUILD_DATE)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and RBAC role from the kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases
	hack/sync-chart.sh
	go run ./hack/crd-docs config/crd/bases/*.yaml > docs/crd-reference.md

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when the generated files are stale (and regenerate them).
	@snapshot=$$(hack/snapshot-generated.sh); \
	$(MAKE) --no-print-directory manifests generate >/dev/null; \
	status=0; hack/verify-generated.sh "$$snapshot" || status=$$?; rm -rf "$$snapshot"; exit $$status

.PHONY: test
test: ## Run every test that runs without a cluster, then print a summary line.
	@hack/test.sh

.PHONY: test-go
test-go: ## Run only the Go tests (unit, envtest, PostgreSQL).
	hack/test.sh go

.PHONY: e2e
e2e: ## Run the end-to-end tests: make dev driven by a test, the installers' dry-run, the browser tests.
	hack/test-e2e.sh

.PHONY: bench
bench: build ## Measure load, idle streams, the operator and the UI size against the targets (docs/benchmarks.md); BENCH_FLAGS adds flags.
	go run ./test/bench -llmplatform $(LOCALBIN)/llmplatform $(BENCH_FLAGS)

# e2e-tools installs what the end-to-end tests need and prints their paths for hack/test-e2e.sh.
.PHONY: e2e-tools
e2e-tools: $(HELM) $(KUSTOMIZE)
	@echo "HELM=$(HELM) KUSTOMIZE=$(KUSTOMIZE)"

##@ Build

.PHONY: build
build: web ## Build bin/llmplatform (operator, API server with the web UI, mock provider) in one binary.
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/llmplatform ./cmd/llmplatform

.PHONY: web
web: ## Build the web UI into apiserver/webui/dist (embedded by the Go build).
	hack/build-web.sh

.PHONY: run
run: manifests generate ## Run the operator against the cluster of the current kubeconfig.
	go run ./cmd/llmplatform operator

.PHONY: dev
dev: ## Run the whole thing locally: control plane, operator, PostgreSQL, mock provider, a sample tenant.
	hack/dev.sh $(DEV_FLAGS)

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMG) .

##@ Deployment

# deploy sets the image in a copy of config/, so that the tracked kustomization stays as it is.
.PHONY: deploy
deploy: $(KUSTOMIZE) ## Install the CRDs and the operator (image IMG) with kustomize into the current kubeconfig's cluster.
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp -r config "$$tmp/" && \
	(cd "$$tmp/config/manager" && $(KUSTOMIZE) edit set image controller=$(IMG)) && \
	$(KUSTOMIZE) build "$$tmp/config/default" | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Remove what deploy installed, the CRDs too: every LLMPlatform and UserQuota goes with them.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: kind-up
kind-up: $(KIND) $(HELM) ## A kind cluster with the image, the chart and the demo tenant (needs Docker and kubectl).
	KIND=$(KIND) HELM=$(HELM) KUBECTL=$(KUBECTL) IMG=$(IMG) hack/kind.sh

##@ Tools

$(CONTROLLER_GEN):
	hack/go-install.sh $@ sigs.k8s.io/controller-tools/cmd/controller-gen $(CONTROLLER_TOOLS_VERSION)

$(KUSTOMIZE):
	hack/go-install.sh $@ sigs.k8s.io/kustomize/kustomize/v5 $(KUSTOMIZE_VERSION)

$(HELM):
	hack/go-install.sh $@ helm.sh/helm/v3/cmd/helm $(HELM_VERSION)

$(GOLANGCI_LINT):
	hack/go-install.sh $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint $(GOLANGCI_LINT_VERSION)

$(KIND):
	hack/go-install.sh $@ sigs.k8s.io/kind $(KIND_VERSION)

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl for envtest into bin/k8s/ (once).
	hack/envtest-bins.sh

.PHONY: tools
tools: $(CONTROLLER_GEN) $(KUSTOMIZE) $(HELM) $(GOLANGCI_LINT) envtest ## Install every tool into bin/.
