#!/usr/bin/env bash
# Copies the CustomResourceDefinitions the test bed installs out of the
# modules pinned in hack/crds/go.mod (downloaded through the Go module proxy)
# into a cache folder keyed by that pin, so that no test downloads anything:
#
#   ${SCALEGUARD_TOOLS_DIR:-$HOME/.cache/scaleguard/tools}/crds-<key>/
#     vpa-v1-crd-gen.yaml          k8s.io/autoscaler/vertical-pod-autoscaler deploy/
#     keda.sh_scaledobjects.yaml   github.com/kedacore/keda/v2 config/crd/bases/
#     openreports.io_reports.yaml, openreports.io_clusterreports.yaml
#                                  github.com/openreports/reports-api config/crd/
#     wgpolicyk8s.io_policyreports.yaml, wgpolicyk8s.io_clusterpolicyreports.yaml
#                                  github.com/kyverno/kyverno config/crds/policyreport/
#     VERSIONS
#
# <key> hashes hack/crds/go.mod and go.sum, this script, hack/toolcache.sh
# and the platform. It is apart from hack/build-tools.sh so that pinning a
# CRD never rebuilds kube-apiserver. `make tools` runs it; test/testbed finds
# the folder by asking this script (--print-dir).
#
# Usage:
#   hack/copy-crds.sh               copy if needed; last stdout line = folder
#   hack/copy-crds.sh --print-dir   print the folder only (no go)
#   hack/copy-crds.sh --check       exit 0 if the folder is complete, else 1
#   hack/copy-crds.sh --force       copy again even if the folder is complete
#   hack/copy-crds.sh --prune       delete the folders of other keys
#
# Environment:
#   SCALEGUARD_TOOLS_DIR   cache root (default $HOME/.cache/scaleguard/tools)
#
# Everything but the path goes to stderr. A few seconds once the modules are
# downloaded (the keda module is some 10 MB, kyverno's some 30 MB).
# hack/gen-report-crds.sh copies the report CRDs on into the chart.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$root/hack/crds"

name=copy-crds
# shellcheck source=hack/toolcache.sh
source "$root/hack/toolcache.sh"
toolcache_mode "${BASH_SOURCE[0]}" "$@"
toolcache_dir crds- \
	"$root/hack/copy-crds.sh" "$root/hack/toolcache.sh" \
	"$mod/go.mod" "$mod/go.sum"

# files: each copied file and where it is in its module.
files=(
	"k8s.io/autoscaler/vertical-pod-autoscaler deploy/vpa-v1-crd-gen.yaml"
	"github.com/kedacore/keda/v2 config/crd/bases/keda.sh_scaledobjects.yaml"
	"github.com/openreports/reports-api config/crd/openreports.io_reports.yaml"
	"github.com/openreports/reports-api config/crd/openreports.io_clusterreports.yaml"
	"github.com/kyverno/kyverno config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml"
	"github.com/kyverno/kyverno config/crds/policyreport/wgpolicyk8s.io_clusterpolicyreports.yaml"
)

complete() {
	local f
	for f in "${files[@]}"; do
		[[ -f "$dir/$(basename "${f#* }")" ]] || return 1
	done
	[[ -f "$dir/VERSIONS" ]]
}

toolcache_prepare

versions=""
for f in "${files[@]}"; do
	module=${f%% *}
	path=${f#* }
	version=$(modver "$mod" "$module")
	# The pinned version, as go.sum checks it; a no-op once downloaded.
	src=$(cd "$mod" && go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4 }')
	[[ -n $src && -f $src/$path ]] || {
		log "no $path in $module@$version"
		exit 1
	}
	# Via a temporary file, so an interrupted copy never leaves half a
	# file; install, because the module cache's files are read-only.
	install -m 0644 "$src/$path" "$dir/.tmp"
	mv -f "$dir/.tmp" "$dir/$(basename "$path")"
	versions+="$module $version"$'\n'
	log "copied $path from $module@$version"
done
printf '%s' "$versions" >"$dir/VERSIONS"
echo "$dir"
