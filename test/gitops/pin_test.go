package gitops

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitops-engine's diff defaults objects with the scheme of k8s.io/kubernetes
// (pkg/apis/*/install); it must be the release whose kube-apiserver the test
// bed runs, pinned once in hack/tools/go.mod and copied here by
// hack/tools/update-k8s-replaces.sh, or the predicted object would carry
// another release's defaults.
func TestKubernetesPinMatchesTestBed(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes").Output()
	if err != nil {
		t.Fatal(err)
	}
	built := strings.TrimSpace(string(out))
	data, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := ""
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == "k8s.io/kubernetes" {
			pinned = f[1]
		}
	}
	if built == "" || built != pinned {
		t.Errorf("test/gitops builds k8s.io/kubernetes %q, hack/tools/go.mod pins %q; run hack/tools/update-k8s-replaces.sh and go mod tidy in test/gitops", built, pinned)
	}
}
