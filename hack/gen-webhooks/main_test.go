package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedFilesAreCurrent fails when config/webhook/manifests.yaml or
// the chart's files/webhook-configurations.yaml no longer is what
// webhook/configuration generates.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if err := run("../..", true); err != nil {
		t.Fatal(err)
	}
}

// TestCheckNamesTheFix writes the files into an empty tree, then edits one:
// -check must name the file and the command that regenerates it.
func TestCheckNamesTheFix(t *testing.T) {
	root := t.TempDir()
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f.path)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err != nil {
		t.Fatalf("just written, yet: %v", err)
	}
	edited := filepath.Join(root, files[1].path)
	data, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, bytes.Replace(data, []byte("failurePolicy: Fail"), []byte("failurePolicy: Ignore"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(root, true)
	if err == nil || !strings.Contains(err.Error(), files[1].path) || !strings.Contains(err.Error(), "run `make generate`") {
		t.Errorf("an edited %s gave %v, want an error naming it and `make generate`", files[1].path, err)
	}
}

// TestBodyIsTheExport pins the promise of the files' header: their body is
// what users get from `scaleguard export`, byte for byte.
func TestBodyIsTheExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/scaleguard", "export", "--format", "webhook-configurations", "--match-conditions=false")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scaleguard export: %v\n%s", err, stderr.String())
	}
	body, err := Body()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, body) {
		t.Errorf("scaleguard export --format webhook-configurations --match-conditions=false prints\n%s\nthe generated files hold\n%s", out, body)
	}
}
