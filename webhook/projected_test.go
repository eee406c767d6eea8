package webhook

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
)

// projectedDir writes files the way the kubelet publishes a ConfigMap or
// Secret volume (its AtomicWriter): the content lives in a timestamped
// directory, ..data is a symlink to it, and each visible file is a symlink
// through ..data. An update writes a new directory and renames a new
// ..data symlink over the old one, then removes the old directory.
type projectedDir struct {
	dir string
	gen int
}

func (p *projectedDir) write(t *testing.T, files map[string][]byte) {
	t.Helper()
	p.gen++
	ts := fmt.Sprintf("..%s.%d", time.Now().UTC().Format("2006_01_02_15_04_05"), p.gen)
	if err := os.Mkdir(filepath.Join(p.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(p.dir, ts, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(p.dir, "..data"))
	tmp := filepath.Join(p.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(p.dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(p.dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, within, what, harness.Holds(cond))
}
