#!/usr/bin/env bash
# Provides kube-apiserver, etcd and kubectl for envtest and end-to-end tests without downloading binaries:
# they are built from their Go modules at the Kubernetes version that go.mod uses and cached under
# bin/k8s/<version>/. A second run finds them and returns at once. Prints the directory on stdout, so
# `export KUBEBUILDER_ASSETS=$(hack/envtest-bins.sh)` works. KUBEBUILDER_ASSETS, when already set and holding
# the binaries, is honoured as is.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
etcd_version=${ETCD_VERSION:-v3.6.16}

if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/kube-apiserver" && -x "${KUBEBUILDER_ASSETS}/etcd" ]]; then
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

# k8s.io/api v0.X.Y pairs with Kubernetes v1.X.Y.
api_version=$(cd "$root" && go list -m -f '{{.Version}}' k8s.io/api)
k8s_version="v1.${api_version#v0.}"
out="$root/bin/k8s/$k8s_version"

if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -x "$out/kubectl" ]]; then
  echo "$out"
  exit 0
fi

log() { echo "envtest-bins: $*" >&2; }
mkdir -p "$out"
work="$root/bin/.build/k8s-$k8s_version"
mkdir -p "$work"

build_etcd() {
  [[ -x "$out/etcd" ]] && return
  log "building etcd $etcd_version (about a minute)"
  local dir="$work/etcd"
  mkdir -p "$dir"
  (
    cd "$dir"
    [[ -f go.mod ]] || go mod init envtest/etcd >/dev/null 2>&1
    GOFLAGS=-mod=mod go get -tool "go.etcd.io/etcd/server/v3@$etcd_version" >/dev/null 2>&1
    CGO_ENABLED=0 go build -trimpath -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$out/etcd.tmp" "$out/etcd"
}

build_kube() {
  [[ -x "$out/kube-apiserver" && -x "$out/kubectl" ]] && return
  log "building kube-apiserver and kubectl $k8s_version (about five minutes cold)"
  local dir="$work/kube"
  mkdir -p "$dir"
  local gomod
  gomod=$(cd "$root" && go mod download -json "k8s.io/kubernetes@$k8s_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  {
    echo "module envtest/kube"
    grep -E '^(go|godebug) ' "$gomod" || true
    echo "require k8s.io/kubernetes $k8s_version"
    # Every staging module replaced by ./staging/... in kubernetes' go.mod is published as k8s.io/<name> v0.X.Y.
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" |
      awk -v v="$api_version" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubectl/pkg/cmd"
)
GO
  local minor=${k8s_version#v1.}
  minor=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (
    cd "$dir"
    GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  )
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
  mv "$out/kubectl.tmp" "$out/kubectl"
}

build_etcd
build_kube
echo "$out"
