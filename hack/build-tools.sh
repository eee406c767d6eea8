#!/usr/bin/env bash
# Builds the real binaries the test bed runs -- kube-apiserver, kubectl, etcd
# and helm -- from the Go module proxy at the versions pinned in
# hack/tools/**/go.mod, into a cache folder keyed by those pins:
#
#   ${SCALEGUARD_TOOLS_DIR:-$HOME/.cache/scaleguard/tools}/<key>/
#
# <key> hashes the tools modules (go.mod, go.sum, tools.go), this script,
# hack/toolcache.sh (shared with hack/build-kyverno.sh) and the platform, so the folder changes, and the binaries are rebuilt, only when
# a pin or the way they are built changes. A folder that already holds every
# binary is not rebuilt. The folder is laid out the way envtest expects
# KUBEBUILDER_ASSETS to be.
#
# Usage:
#   hack/build-tools.sh               build if needed; last stdout line = folder
#   hack/build-tools.sh --print-dir   print the folder only (no build, no go)
#   hack/build-tools.sh --check       exit 0 if the folder is complete, else 1
#   hack/build-tools.sh --force       rebuild even if the folder is complete
#   hack/build-tools.sh --prune       delete the folders of other keys (~240 MB each)
#
# Environment:
#   SCALEGUARD_TOOLS_DIR   cache root (default $HOME/.cache/scaleguard/tools)
#   SCALEGUARD_TOOLS_NICE  niceness of the compiles (default 10; 0 = none)
#
# Everything but the path goes to stderr. Measured on 2 cores with an empty
# Go build cache (modules already downloaded): ~7 min wall, ~9 CPU-minutes,
# kube-apiserver most of it. With a warm Go build cache (a pin or this script
# changed) it is mostly linking; with the folder complete it is a no-op.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/hack/tools"
binaries=(kube-apiserver kubectl etcd helm)

name=build-tools
# shellcheck source=hack/toolcache.sh
source "$root/hack/toolcache.sh"
toolcache_mode "${BASH_SOURCE[0]}" "$@"
toolcache_dir "" \
	"$root/hack/build-tools.sh" "$root/hack/toolcache.sh" \
	"$tools/go.mod" "$tools/go.sum" "$tools/tools.go" \
	"$tools/etcd/go.mod" "$tools/etcd/go.sum" "$tools/etcd/tools.go" \
	"$tools/helm/go.mod" "$tools/helm/go.sum" "$tools/helm/tools.go"

complete() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x "$dir/$b" ]] || return 1
	done
}

toolcache_prepare

total_start=$SECONDS

# --- kube-apiserver, kubectl (k8s.io/kubernetes) ---------------------------
# Stamped like kubernetes' hack/lib/version.sh does, so the server and client
# report the real version instead of v0.0.0-master (kubectl warns about it).
kube_version=$(modver "$tools" k8s.io/kubernetes)
[[ $kube_version =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || {
	log "unexpected k8s.io/kubernetes version $kube_version"
	exit 1
}
kube_major=${BASH_REMATCH[1]} kube_minor=${BASH_REMATCH[2]}
# The release's own time (from the module proxy), so builds are reproducible.
kube_date=$(cd "$tools" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$kube_major -X $pkg.gitMinor=$kube_minor"
	kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${kube_date:-1970-01-01T00:00:00Z}"
done
# Same tags as a kubernetes release build (hack/lib/golang.sh).
kube_tags=selinux,notest,grpcnotrace
gobuild "$tools" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver -tags "$kube_tags" -ldflags "$kube_ldflags"
gobuild "$tools" kubectl k8s.io/kubernetes/cmd/kubectl -tags "$kube_tags" -ldflags "$kube_ldflags"

# --- etcd (go.etcd.io/etcd/server/v3) --------------------------------------
# etcd's version is a constant of go.etcd.io/etcd/api/v3/version.
etcd_version=$(modver "$tools/etcd" go.etcd.io/etcd/server/v3)
gobuild "$tools/etcd" etcd go.etcd.io/etcd/server/v3 -ldflags "-s -w"

# --- helm (helm.sh/helm/v3) ------------------------------------------------
# Stamped like helm's Makefile does for a tagged release.
helm_version=$(modver "$tools/helm" helm.sh/helm/v3)
helm_kube=$(cd "$tools/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
[[ $helm_kube =~ ^v0\.([0-9]+)\. ]] || {
	log "unexpected k8s.io/client-go version $helm_kube in hack/tools/helm"
	exit 1
}
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
	helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=${BASH_REMATCH[1]}"
done
gobuild "$tools/helm" helm helm.sh/helm/v3/cmd/helm -ldflags "$helm_ldflags"

cat >"$dir/VERSIONS" <<EOF
kube-apiserver $kube_version
kubectl $kube_version
etcd $etcd_version
helm $helm_version
built-with $(go env GOVERSION)
EOF
log "all tools built in $((SECONDS - total_start))s: $dir"
echo "$dir"
