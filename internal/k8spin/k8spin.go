// Package k8spin reads the k8s.io/kubernetes release pinned once in
// hack/tools/go.mod (the test bed's kube-apiserver) and the one a module
// builds, for the modules that import k8s.io/kubernetes (test/oracle,
// test/gitops) and must judge against the release the test bed runs.
package k8spin

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

const module = "k8s.io/kubernetes"

// Compare returns the release the module in the working directory builds
// and the one toolsGoMod (the path of hack/tools/go.mod) pins.
func Compare(toolsGoMod string) (built, pinned string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module).Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	data, err := os.ReadFile(toolsGoMod)
	if err != nil {
		return "", "", err
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == module {
			pinned = f[1]
		}
	}
	return strings.TrimSpace(string(out)), pinned, nil
}
