#!/usr/bin/env bash
# Copies the CustomResourceDefinitions of the audit's two report APIs, as
# pinned in hack/crds/go.mod, into the chart, which installs them when asked
# (crds.policyReports, crds.openReports):
#
#   charts/scaleguard/files/report-crds/
#     openreports.io_reports.yaml, openreports.io_clusterreports.yaml
#       github.com/openreports/reports-api config/crd/
#     wgpolicyk8s.io_policyreports.yaml, wgpolicyk8s.io_clusterpolicyreports.yaml
#       github.com/kyverno/kyverno config/crds/policyreport/
#
# They are copied unchanged from hack/copy-crds.sh's folder (which it fills
# first if needed), so test/chart finds the chart's copies stale by
# comparing the two after a pin moves. `make generate` runs it.
#
# Usage:
#   hack/gen-report-crds.sh            write them in place
#   hack/gen-report-crds.sh --out DIR  write them under DIR instead, same layout
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root
if [[ ${1:-} == --out ]]; then
	out=$2
fi

src=$("$root/hack/copy-crds.sh" | tail -n 1)
dst="$out/charts/scaleguard/files/report-crds"
mkdir -p "$dst"
for f in openreports.io_reports.yaml openreports.io_clusterreports.yaml \
	wgpolicyk8s.io_policyreports.yaml wgpolicyk8s.io_clusterpolicyreports.yaml; do
	install -m 0644 "$src/$f" "$dst/$f"
done
