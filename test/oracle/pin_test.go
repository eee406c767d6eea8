package oracle

import (
	"testing"

	"github.com/scaleguard/scaleguard/internal/k8spin"
)

// The kubernetes version is pinned once, in hack/tools/go.mod (the test
// bed's kube-apiserver); hack/tools/update-k8s-replaces.sh copies it here.
// The oracle must judge scaleguard against the release the test bed runs.
func TestKubernetesPinMatchesTestBed(t *testing.T) {
	built, pinned, err := k8spin.Compare("../../hack/tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if built == "" || built != pinned {
		t.Errorf("test/oracle runs k8s.io/kubernetes %q, hack/tools/go.mod pins %q; run hack/tools/update-k8s-replaces.sh and go mod tidy in test/oracle", built, pinned)
	}
}
