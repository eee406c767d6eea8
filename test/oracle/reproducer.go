package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Reproducer is what a disagreement prints: the command, the HPA and the
// trace, ready to paste into files and replay with `scaleguard simulate`.
func Reproducer(c Case, d Disagreement) (string, error) {
	hpa, err := c.YAML()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.Name, d)
	fmt.Fprintf(&b, "replay with scaleguard's side:\n  scaleguard simulate -f hpa.yaml --trace trace.csv %s -o csv\n", strings.Join(c.Flags(), " "))
	fmt.Fprintf(&b, "--- hpa.yaml\n%s--- trace.csv\n%s", hpa, c.Trace.CSV())
	return b.String(), nil
}

// WriteReproducer writes hpa.yaml and trace.csv into dir.
func WriteReproducer(dir string, c Case) error {
	hpa, err := c.YAML()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hpa.yaml"), hpa, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "trace.csv"), c.Trace.CSV(), 0o644)
}
