package gitops

import (
	"testing"

	"github.com/scaleguard/scaleguard/internal/k8spin"
)

// gitops-engine's diff defaults objects with the scheme of k8s.io/kubernetes
// (pkg/apis/*/install); it must be the release whose kube-apiserver the test
// bed runs, pinned once in hack/tools/go.mod and copied here by
// hack/tools/update-k8s-replaces.sh, or the predicted object would carry
// another release's defaults.
func TestKubernetesPinMatchesTestBed(t *testing.T) {
	built, pinned, err := k8spin.Compare("../../hack/tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if built == "" || built != pinned {
		t.Errorf("test/gitops builds k8s.io/kubernetes %q, hack/tools/go.mod pins %q; run hack/tools/update-k8s-replaces.sh and go mod tidy in test/gitops", built, pinned)
	}
}
