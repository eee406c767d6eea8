// Package realworld finds the regression corpus of real-world manifests
// (60 files from public repositories, kept in shared/realworld beside the
// checkout) for the tests that judge it. A clone without it has none, and
// those tests then judge examples/ alone.
package realworld

import (
	"os"
	"path/filepath"
)

// Env names a folder of real-world manifests to judge instead of the one
// found beside the repository.
const Env = "SCALEGUARD_REALWORLD"

// MinFiles is how many manifest files the corpus holds; fewer means it is
// damaged or not the one expected.
const MinFiles = 60

// Dir returns $SCALEGUARD_REALWORLD, or shared/realworld beside the working
// directory (a test's package directory) or one of its ancestors, or ""
// when this machine has none.
func Dir() string {
	if dir := os.Getenv(Env); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		candidate := filepath.Join(dir, "..", "shared", "realworld")
		if info, err := os.Stat(candidate); err == nil && info.IsDir() {
			return filepath.Clean(candidate)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
