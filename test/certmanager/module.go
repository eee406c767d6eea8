package certmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModulePath is the cert-manager module whose packages run here.
const ModulePath = "github.com/cert-manager/cert-manager"

// Module is the cert-manager module go.mod requires, as the module cache
// holds it.
type Module struct {
	// Version is the version go.mod selects, the one compiled in.
	Version string
	// Dir is the module's folder in the module cache (read-only).
	Dir string
}

// CRDDir holds the CRDs that match the compiled packages.
func (m Module) CRDDir() string { return filepath.Join(m.Dir, "deploy", "crds") }

// ChartDir is cert-manager's own Helm chart. Its Chart.yaml carries the
// placeholder version v0.0.0; the release process stamps the real one.
func (m Module) ChartDir() string { return filepath.Join(m.Dir, "deploy", "charts", "cert-manager") }

// LocateModule asks the go command, in the module at root, where the
// required cert-manager version lives, so the CRDs and chart always match
// the compiled controllers.
func LocateModule(ctx context.Context, root string) (Module, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-json", ModulePath)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return Module{}, fmt.Errorf("go list -m %s: %w: %s", ModulePath, err, ee.Stderr)
		}
		return Module{}, fmt.Errorf("go list -m %s: %w", ModulePath, err)
	}
	var m Module
	if err := json.Unmarshal(out, &m); err != nil {
		return Module{}, fmt.Errorf("go list -m %s: %w", ModulePath, err)
	}
	for _, want := range []string{filepath.Join(m.CRDDir(), "cert-manager.io_certificates.yaml"), filepath.Join(m.ChartDir(), "Chart.yaml")} {
		if _, err := os.Stat(want); err != nil {
			return m, fmt.Errorf("%s@%s no longer ships %s: %w", ModulePath, m.Version, want, err)
		}
	}
	return m, nil
}
