#!/usr/bin/env bash
# Generates, from the types of api/ and their kubebuilder markers, with the
# controller-gen pinned in hack/tools/controller-gen/go.mod:
#   api/*/zz_generated.deepcopy.go   deepcopy functions
#   config/crd/bases/*.yaml          the CustomResourceDefinitions
#   charts/scaleguard/files/crds/    the same CRDs, which the chart installs
#
# Usage:
#   hack/gen-api.sh            write them in place (make generate)
#   hack/gen-api.sh --out DIR  write them under DIR instead, same layout
#                              (the test that finds committed files stale)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root
if [[ ${1:-} == --out ]]; then
	out=$2
fi

bin=${CONTROLLER_GEN_DIR:-$root/bin}
mkdir -p "$bin"
# go build is a no-op when the binary is current (Go's build cache).
(cd "$root/hack/tools/controller-gen" && GOWORK=off GOFLAGS=-mod=readonly go build -o "$bin/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)

cd "$root"
# allowDangerousTypes: cost-ceiling's prices are floats in the settings file.
"$bin/controller-gen" \
	object paths=./api/... output:object:dir="$out/api/v1alpha1" \
	crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config="$out/config/crd/bases"
mkdir -p "$out/charts/scaleguard/files/crds"
cp "$out"/config/crd/bases/*.yaml "$out/charts/scaleguard/files/crds/"
