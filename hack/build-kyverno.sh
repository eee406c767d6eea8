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
# script and the platform. It is apart from hack/build-tools.sh so that the
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

key_inputs=(
	"$root/hack/build-kyverno.sh"
	"$mod/go.mod" "$mod/go.sum" "$mod/tools.go"
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
dir="$cache_root/kyverno-$key"

complete() {
	[[ -x "$dir/kyverno" && -f "$dir/crds/policies.kyverno.io/policies.kyverno.io_validatingpolicies.yaml" && -f "$dir/VERSION" ]]
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
	for old in "$cache_root"/kyverno-*/; do
		old=${old%/}
		[[ -d $old && $old != "$dir" && ${old##*/} =~ ^kyverno-[0-9a-f]{16}$ ]] || continue
		echo "build-kyverno: removing $old" >&2
		rm -rf -- "$old"
	done
	exit 0
	;;
esac

log() { echo "build-kyverno: $*" >&2; }

if [[ $mode == build ]] && complete; then
	log "up to date: $dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
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

version=$(awk '$1 == "github.com/kyverno/kyverno" { print $2; exit } $1 == "require" && $2 == "github.com/kyverno/kyverno" { print $3; exit }' "$mod/go.mod")
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || {
	log "no version of github.com/kyverno/kyverno in $mod/go.mod"
	exit 1
}
# The CRDs are read from the module cache; download first on a fresh machine
# (a no-op once cached; through the module proxy like everything else).
(cd "$mod" && go mod download github.com/kyverno/kyverno)
src=$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/kyverno/kyverno)
[[ -d $src/config/crds ]] || {
	log "no config/crds in $src"
	exit 1
}

start=$SECONDS
# Stamped like Kyverno's Makefile does for a release (LD_FLAGS with VERSION);
# otherwise it reports the wrapper module's "(devel)".
log "building kyverno $version (github.com/kyverno/kyverno/cmd/kyverno)"
(cd "$mod" && "${nice_cmd[@]}" go build -o "$dir/.kyverno.tmp" \
	-ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version" \
	github.com/kyverno/kyverno/cmd/kyverno)
mv -f "$dir/.kyverno.tmp" "$dir/kyverno"
log "built kyverno in $((SECONDS - start))s"

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
