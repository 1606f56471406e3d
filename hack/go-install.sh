#!/usr/bin/env bash
# go-install.sh TARGET PACKAGE VERSION installs a Go tool at a pinned version as the file TARGET (for example
# bin/controller-gen-v0.23.0), so that changing a version in the Makefile installs the new one.
set -euo pipefail
target=$1 package=$2 version=$3
[[ -x "$target" ]] && exit 0
dir=$(dirname "$target")
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "Installing $package@$version" >&2
GOBIN="$tmp" GOTOOLCHAIN=local go install "$package@$version"
# The temporary GOBIN holds exactly the one binary just built.
mv "$tmp"/* "$target"
