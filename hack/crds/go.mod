// Pins the upstream projects whose CustomResourceDefinitions the test bed
// installs, in one place: hack/copy-crds.sh copies the CRD files out of
// these module downloads (through the Go module proxy) into a cache folder
// keyed by this file and go.sum, at `make tools`, so no test downloads
// anything. Nothing imports these modules; do not run `go mod tidy` here,
// which would drop the requirements.
//
//   k8s.io/autoscaler/vertical-pod-autoscaler  deploy/vpa-v1-crd-gen.yaml
//     (hpa-vpa-conflict; the semantics in policies/vpa.go are read from
//     the same version)
//   github.com/kedacore/keda/v2  config/crd/bases/keda.sh_scaledobjects.yaml
//   github.com/openreports/reports-api  config/crd/openreports.io_*.yaml
//     (the audit's OpenReports; the chart ships them, hack/gen-report-crds.sh)
//   github.com/kyverno/kyverno  config/crds/policyreport/wgpolicyk8s.io_*.yaml
//     (the audit's PolicyReports, v1alpha2 as Kyverno serves it; the chart
//     ships them too; the same version as hack/tools/kyverno, whose
//     reports-api is the one pinned here)
module github.com/scaleguard/scaleguard/hack/crds

go 1.26.0

require (
	github.com/kedacore/keda/v2 v2.20.2
	github.com/kyverno/kyverno v1.19.1
	github.com/openreports/reports-api v0.2.1
	k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1
)
