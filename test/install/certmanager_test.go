package install

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// certManagerCRDs returns the folder of cert-manager's CRDs (deploy/crds)
// of the version go.mod requires — the same one test/certmanager runs — as
// the module cache holds it. go.mod is the one place its version is pinned.
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-m", "-json", "github.com/cert-manager/cert-manager")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m github.com/cert-manager/cert-manager: %v", err)
	}
	var mod struct{ Version, Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mod.Dir, "deploy", "crds")
	if _, err := os.Stat(filepath.Join(dir, "cert-manager.io_certificates.yaml")); err != nil {
		t.Fatalf("cert-manager %s no longer ships its CRDs under deploy/crds: %v", mod.Version, err)
	}
	return dir
}
