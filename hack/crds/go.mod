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
module github.com/scaleguard/scaleguard/hack/crds

go 1.26.0

require (
	github.com/kedacore/keda/v2 v2.20.2
	k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1
)
