package testbed

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binaries are the executables the test bed needs in its assets folder.
var Binaries = []string{"kube-apiserver", "etcd", "kubectl", "helm"}

// buildScript is the script, relative to the repository root, that builds the
// binaries and alone knows where they are cached.
const buildScript = "hack/build-tools.sh"

// ErrToolsMissing is returned (wrapped) when the binaries have not been built.
var ErrToolsMissing = errors.New("test bed binaries not built: run `make tools` (hack/build-tools.sh)")

// AssetsDir returns the folder holding kube-apiserver, etcd, kubectl and helm:
// $KUBEBUILDER_ASSETS when set, otherwise the folder hack/build-tools.sh
// builds into (asked of the script itself with --print-dir, so the cache key
// is computed in one place). It returns an error wrapping ErrToolsMissing when
// the folder lacks any binary.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	source := "KUBEBUILDER_ASSETS"
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		if dir, err = printDir(root, buildScript); err != nil {
			return "", err
		}
		source = buildScript + " --print-dir"
	}
	var missing []string
	for _, b := range Binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return dir, fmt.Errorf("%w: %s missing from %s (from %s)",
			ErrToolsMissing, strings.Join(missing, ", "), dir, source)
	}
	return dir, nil
}

// printDir asks a cache script of the repository for its folder.
func printDir(root, script string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(root, script), "--print-dir")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("%s --print-dir: %w: %s", script, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// crdScript copies the CRDs pinned in hack/crds/go.mod (the
// VerticalPodAutoscaler's, KEDA's ScaledObject) and alone knows where they
// are cached. `make tools` runs it.
const crdScript = "hack/copy-crds.sh"

// CRDFile returns the path of a CRD file crdScript copied, by its file name
// ("vpa-v1-crd-gen.yaml", "keda.sh_scaledobjects.yaml"), or an error
// wrapping ErrToolsMissing when it has not been copied.
func CRDFile(name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err := printDir(root, crdScript)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: %s missing (run `make tools`, which runs %s)", ErrToolsMissing, path, crdScript)
	}
	return path, nil
}

// repoRoot walks up from the working directory (a test's package folder) to
// the folder holding hack/build-tools.sh.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, buildScript)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s above %s; set KUBEBUILDER_ASSETS", buildScript, wd)
		}
	}
}

// InCI reports whether the tests run in CI (CI set to anything but
// "", "0" or "false"), where missing binaries are a failure, not a skip.
func InCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "", "0", "false":
		return false
	}
	return true
}

// RepoRoot returns the repository's root folder, found from the working
// directory.
func RepoRoot() (string, error) { return repoRoot() }

// Tools returns AssetsDir for a test that runs the test bed's binaries. It
// skips tb under -short (make test-unit runs no test bed) and when the
// binaries are missing outside CI, and fails tb in CI, where a skip would
// hide a test that never ran.
func Tools(tb testing.TB) string {
	tb.Helper()
	SkipShort(tb)
	dir, err := AssetsDir()
	if err != nil {
		if IsToolsMissing(err) && !InCI() {
			tb.Skip(err)
		}
		tb.Fatal(err)
	}
	return dir
}

// SkipShort skips tb under -short: `make test-unit` runs the unit tests
// alone, without kube-apiserver, etcd, kubectl or helm.
func SkipShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: no test bed (make test runs it)")
	}
}

// RunMain is the TestMain of a suite that shares one test bed: it runs
// run (which starts the bed and calls m.Run) and exits with its code. Under
// -short, or when the binaries are missing outside CI, the suite is
// skipped as a whole; in CI a missing binary fails it.
func RunMain(suite string, run func() (int, error)) {
	flag.Parse()
	if testing.Short() {
		fmt.Fprintf(os.Stderr, "%s: skipped under -short (make test runs it)\n", suite)
		os.Exit(0)
	}
	code, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		if IsToolsMissing(err) && !InCI() {
			fmt.Fprintf(os.Stderr, "%s: skipped (run `make tools`)\n", suite)
			os.Exit(0)
		}
		os.Exit(1)
	}
	os.Exit(code)
}
