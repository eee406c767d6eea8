package install

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cert-manager's CRDs come from its Go module, which ships them under
// deploy/crds: the proxy is the only registry these machines reach, and
// the module zip is verified against the hash below as go.sum would. The
// module is not a requirement of go.mod, because nothing imports its
// packages and requiring it would pull its dependency graph into ours.
const (
	certManagerModule  = "github.com/cert-manager/cert-manager"
	certManagerVersion = "v1.21.2"
	// The h1: hash of the module zip (`go mod download -json` prints it).
	certManagerSum = "h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68="
)

// certManagerCRDs returns the folder of cert-manager's CRDs in the module
// cache, downloading the module through the module proxy when the cache
// lacks it.
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	mod := certManagerModule + "@" + certManagerVersion
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", mod)
	// Outside any module, so that our go.mod and go.sum are never touched.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || runErr != nil || info.Error != "" {
		t.Fatalf("go mod download %s (needs the Go module proxy or a module cache that has it): %v %s %s",
			mod, runErr, info.Error, bytes.TrimSpace(stderr.Bytes()))
	}
	if info.Sum != certManagerSum {
		t.Fatalf("%s: module hash %s, want %s", mod, info.Sum, certManagerSum)
	}
	dir := filepath.Join(info.Dir, "deploy", "crds")
	if _, err := os.Stat(filepath.Join(dir, "cert-manager.io_certificates.yaml")); err != nil {
		t.Fatalf("%s no longer ships its CRDs under deploy/crds: %v", mod, err)
	}
	return dir
}
