package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreCurrent runs controller-gen (hack/gen-api.sh, as
// make generate does) into a temporary folder and fails when a committed
// CRD or the deepcopy file differs from what it generates.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds controller-gen")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "hack", "gen-api.sh"), "--out", out)
	cmd.Env = append(os.Environ(), "CONTROLLER_GEN_DIR="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/gen-api.sh: %v\n%s", err, b)
	}
	var generated []string
	err = filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, path)
			generated = append(generated, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) < 3 {
		t.Fatalf("controller-gen wrote only %v", generated)
	}
	for _, rel := range generated {
		want, _ := os.ReadFile(filepath.Join(out, rel))
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing: run `make generate` (%v)", rel, err)
		}
	}
	// A CRD no longer generated (a type removed) is stale too.
	committed, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	for _, path := range committed {
		rel, _ := filepath.Rel(root, path)
		if _, err := os.Stat(filepath.Join(out, rel)); err != nil {
			t.Errorf("%s is no longer generated: delete it or run `make generate`", rel)
		}
	}
}
