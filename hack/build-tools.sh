#!/usr/bin/env bash
# Builds the real binaries the test bed runs -- kube-apiserver, kubectl, etcd
# and helm -- from the Go module proxy at the versions pinned in
# hack/tools/**/go.mod, into a cache folder keyed by those pins:
#
#   ${SCALEGUARD_TOOLS_DIR:-$HOME/.cache/scaleguard/tools}/<key>/
#
# <key> hashes the tools modules (go.mod, go.sum, tools.go), this script and
# the platform, so the folder changes, and the binaries are rebuilt, only when
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

mode=build
case "${1:-}" in
"") ;;
--print-dir) mode=print ;;
--check) mode=check ;;
--force) mode=force ;;
--prune) mode=prune ;;
-h | --help)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "unknown argument: $1 (try --help)" >&2
	exit 2
	;;
esac

# The key: every file that pins a version or says how it is built.
key_inputs=(
	"$root/hack/build-tools.sh"
	"$tools/go.mod" "$tools/go.sum" "$tools/tools.go"
	"$tools/etcd/go.mod" "$tools/etcd/go.sum" "$tools/etcd/tools.go"
	"$tools/helm/go.mod" "$tools/helm/go.sum" "$tools/helm/tools.go"
)
key=$(
	cd "$root"
	{
		uname -sm
		for f in "${key_inputs[@]}"; do
			printf '== %s\n' "${f#"$root"/}"
			cat "$f"
		done
	} | sha256sum | cut -c1-16
)
cache_root="${SCALEGUARD_TOOLS_DIR:-${HOME:?HOME or SCALEGUARD_TOOLS_DIR must be set}/.cache/scaleguard/tools}"
dir="$cache_root/$key"

complete() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x "$dir/$b" ]] || return 1
	done
}

case $mode in
print)
	echo "$dir"
	exit 0
	;;
check)
	complete
	exit
	;;
prune)
	for old in "$cache_root"/*/; do
		old=${old%/}
		[[ -d $old && $old != "$dir" && ${old##*/} =~ ^[0-9a-f]{16}$ ]] || continue
		echo "build-tools: removing $old" >&2
		rm -rf -- "$old"
	done
	exit 0
	;;
esac

log() { echo "build-tools: $*" >&2; }

if [[ $mode == build ]] && complete; then
	log "up to date: $dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
# One build at a time per folder (parallel make, two terminals, ...).
if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
	if [[ $mode == build ]] && complete; then
		log "up to date (built by another run): $dir"
		echo "$dir"
		exit 0
	fi
fi

export GOWORK=off CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
nice_cmd=()
if [[ ${SCALEGUARD_TOOLS_NICE:-10} != 0 ]] && command -v nice >/dev/null; then
	nice_cmd=(nice -n "${SCALEGUARD_TOOLS_NICE:-10}")
fi

# modver DIR MODULE: the version of MODULE that DIR's go.mod pins (require).
modver() {
	local v
	v=$(awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod")
	[[ -n $v ]] || {
		log "no version of $2 in $1/go.mod"
		exit 1
	}
	echo "$v"
}

# gobuild MODDIR OUT PKG [go build flags...]: builds PKG into $dir/OUT via a
# temporary file, so an interrupted build never leaves a half-written binary.
gobuild() {
	local moddir=$1 out=$2 pkg=$3 start
	shift 3
	start=$SECONDS
	log "building $out ($pkg)"
	(cd "$moddir" && "${nice_cmd[@]}" go build -o "$dir/.$out.tmp" "$@" "$pkg")
	mv -f "$dir/.$out.tmp" "$dir/$out"
	log "built $out in $((SECONDS - start))s"
}

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
