#!/usr/bin/env bash
# Builds the Kyverno admission controller that `make bench-apiserver` compares
# scaleguard with, from the Go module proxy at the version pinned in
# hack/tools/kyverno/go.mod, into a cache folder keyed by that pin:
#
#   ${SCALEGUARD_TOOLS_DIR:-$HOME/.cache/scaleguard/tools}/kyverno-<key>/
#     kyverno    the admission controller (github.com/kyverno/kyverno/cmd/kyverno)
#     crds/      Kyverno's CRDs, copied from the module's config/crds
#     VERSION
#
# <key> hashes the kyverno tools module (go.mod, go.sum, tools.go), this
# script, hack/toolcache.sh and the platform. It is apart from hack/build-tools.sh so that the
# test bed's key (and its kube-apiserver build) never depends on Kyverno. The
# CRDs come from the same module download as the binary, so the two always
# match and nothing is fetched at test time.
#
# Usage:
#   hack/build-kyverno.sh               build if needed; last stdout line = folder
#   hack/build-kyverno.sh --print-dir   print the folder only (no build, no go)
#   hack/build-kyverno.sh --check       exit 0 if the folder is complete, else 1
#   hack/build-kyverno.sh --force       rebuild even if the folder is complete
#   hack/build-kyverno.sh --prune       delete the folders of other keys (~140 MB each)
#
# Environment:
#   SCALEGUARD_TOOLS_DIR   cache root (default $HOME/.cache/scaleguard/tools)
#   SCALEGUARD_TOOLS_NICE  niceness of the compile (default 10; 0 = none)
#
# Everything but the path goes to stderr. Measured on 2 cores, modules
# downloaded, Go build cache partly warm: ~5 min wall, ~6 CPU-minutes (an
# empty cache takes longer); with the folder complete it is a no-op.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$root/hack/tools/kyverno"

name=build-kyverno
# shellcheck source=hack/toolcache.sh
source "$root/hack/toolcache.sh"
toolcache_mode "${BASH_SOURCE[0]}" "$@"
toolcache_dir kyverno- \
	"$root/hack/build-kyverno.sh" "$root/hack/toolcache.sh" \
	"$mod/go.mod" "$mod/go.sum" "$mod/tools.go"

complete() {
	[[ -x "$dir/kyverno" && -f "$dir/crds/policies.kyverno.io/policies.kyverno.io_validatingpolicies.yaml" && -f "$dir/VERSION" ]]
}

toolcache_prepare

version=$(modver "$mod" github.com/kyverno/kyverno)
# The CRDs are read from the module cache; download first on a fresh machine
# (a no-op once cached; through the module proxy like everything else).
(cd "$mod" && go mod download github.com/kyverno/kyverno)
src=$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/kyverno/kyverno)
[[ -d $src/config/crds ]] || {
	log "no config/crds in $src"
	exit 1
}

# Stamped like Kyverno's Makefile does for a release (LD_FLAGS with VERSION);
# otherwise it reports the wrapper module's "(devel)".
gobuild "$mod" kyverno github.com/kyverno/kyverno/cmd/kyverno \
	-ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version"

# The module cache is read-only; copies are made writable so the folder can
# be deleted with plain rm -rf.
rm -rf "$dir/.crds.tmp"
cp -R "$src/config/crds" "$dir/.crds.tmp"
chmod -R u+w "$dir/.crds.tmp"
rm -rf "$dir/crds"
mv "$dir/.crds.tmp" "$dir/crds"

cat >"$dir/VERSION" <<EOF
kyverno $version
built-with $(go env GOVERSION)
EOF
log "done: $dir"
echo "$dir"
