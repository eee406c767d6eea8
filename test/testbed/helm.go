package testbed

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Helm runs the test bed's helm without a cluster (helm template, lint,
// show), with a private home so that no user configuration, cache or
// repository leaks in. It skips or fails tb as Tools does when helm is not
// built.
func Helm(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	dir := Tools(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "helm"), args...)
	home := tb.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+home+"/cache",
		"HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// ChartDir is the repository's chart, charts/scaleguard.
func ChartDir(tb testing.TB) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, "charts", "scaleguard")
}
