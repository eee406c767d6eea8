package oracle

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The kubernetes version is pinned once, in hack/tools/go.mod (the test
// bed's kube-apiserver); hack/tools/update-k8s-replaces.sh copies it here.
// The oracle must judge scaleguard against the release the test bed runs.
func TestKubernetesPinMatchesTestBed(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes").Output()
	if err != nil {
		t.Fatal(err)
	}
	built := strings.TrimSpace(string(out))
	data, err := os.ReadFile("../../hack/tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	pinned := ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == "k8s.io/kubernetes" {
			pinned = f[1]
		}
	}
	if built == "" || built != pinned {
		t.Errorf("test/oracle runs k8s.io/kubernetes %q, hack/tools/go.mod pins %q; run hack/tools/update-k8s-replaces.sh and go mod tidy in test/oracle", built, pinned)
	}
}
