package webhook

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	dto "github.com/prometheus/client_model/go"

	"github.com/scaleguard/scaleguard/policies"
)

const reloadWithin = 5 * time.Second

func minReplicasFile(n string) []byte {
	return []byte("rules:\n  min-replicas:\n    minimum: " + n + "\n")
}

// startSettingsFile loads path and watches it until the test ends.
func startSettingsFile(t *testing.T, path string) (*SettingsFile, *Metrics) {
	t.Helper()
	m := NewMetrics()
	f, err := NewSettingsFile(path, m, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return f, m
}

func reloads(m *Metrics, result string) float64 {
	var out dto.Metric
	if err := m.SettingsReloads.WithLabelValues(result).Write(&out); err != nil {
		panic(err)
	}
	return out.GetCounter().GetValue()
}

func minimumIs(f *SettingsFile, n int32) func() bool {
	return func() bool { return f.Current().Rules.MinReplicas.Minimum == n }
}

func TestSettingsFileReloads(t *testing.T) {
	writers := map[string]func(t *testing.T, path string, data []byte){
		"write in place": func(t *testing.T, path string, data []byte) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"editor's write and rename": func(t *testing.T, path string, data []byte) {
			tmp := path + ".swp"
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.yaml")
			write(t, path, minReplicasFile("3"))
			f, m := startSettingsFile(t, path)
			if got := f.Current().Rules.MinReplicas.Minimum; got != 3 {
				t.Fatalf("minimum %d after load, want 3", got)
			}

			write(t, path, minReplicasFile("4"))
			eventually(t, reloadWithin, "minimum 4", minimumIs(f, 4))
			if got := reloads(m, "success"); got != 2 {
				t.Errorf("%v successful loads, want 2", got)
			}

			before := f.Current()
			write(t, path, minReplicasFile("0"))
			eventually(t, reloadWithin, "error counted", func() bool { return reloads(m, "error") == 1 })
			if f.Current() != before {
				t.Errorf("settings changed after a bad file: %+v", f.Current().Rules.MinReplicas)
			}

			// A good file after a bad one is taken again.
			write(t, path, minReplicasFile("5"))
			eventually(t, reloadWithin, "minimum 5", minimumIs(f, 5))
		})
	}
}

// TestSettingsFileConfigMapVolume publishes the file as the kubelet does a
// ConfigMap: settings.yaml -> ..data/settings.yaml, ..data -> ..<timestamp>.
func TestSettingsFileConfigMapVolume(t *testing.T) {
	p := &projectedDir{dir: t.TempDir()}
	p.write(t, map[string][]byte{"settings.yaml": minReplicasFile("3")})
	f, m := startSettingsFile(t, filepath.Join(p.dir, "settings.yaml"))
	if got := f.Current().Rules.MinReplicas.Minimum; got != 3 {
		t.Fatalf("minimum %d after load, want 3", got)
	}

	p.write(t, map[string][]byte{"settings.yaml": minReplicasFile("6")})
	eventually(t, reloadWithin, "minimum 6", minimumIs(f, 6))

	p.write(t, map[string][]byte{"settings.yaml": []byte("mode: yolo\n")})
	eventually(t, reloadWithin, "error counted", func() bool { return reloads(m, "error") == 1 })
	if got := f.Current(); got.Mode != policies.Enforce || got.Rules.MinReplicas.Minimum != 6 {
		t.Errorf("bad file replaced the settings: mode %q, minimum %d", got.Mode, got.Rules.MinReplicas.Minimum)
	}
}

func TestSettingsFileLoad(t *testing.T) {
	t.Run("no file means the defaults", func(t *testing.T) {
		f, _ := startSettingsFile(t, "")
		if want := policies.Defaults(); !reflect.DeepEqual(*f.Current(), want) {
			t.Errorf("got %+v, want the defaults", *f.Current())
		}
	})

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, minReplicasFile("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path string
		want []string
	}{
		"missing file": {filepath.Join(dir, "absent.yaml"), []string{"absent.yaml"}},
		"bad value":    {bad, []string{bad, "rules.min-replicas.minimum"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := NewMetrics()
			_, err := NewSettingsFile(tc.path, m, testr.New(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := reloads(m, "error"); got != 1 {
				t.Errorf("%v errors counted, want 1", got)
			}
		})
	}
}

// TestSettingsFileIgnoresATruncatedFile: between the truncate and the write
// of an in-place edit the file is empty; that moment must not put the
// defaults in force.
func TestSettingsFileIgnoresATruncatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(path, minReplicasFile("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Loaded but not watched: reload runs on the watcher's goroutine only,
	// and this test plays that goroutine.
	f, err := NewSettingsFile(path, NewMetrics(), testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.reload()
	if got := f.Current().Rules.MinReplicas.Minimum; got != 3 {
		t.Fatalf("an empty file put minimum %d in force, want the previous 3", got)
	}
	if err := os.WriteFile(path, minReplicasFile("5"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reload()
	if got := f.Current().Rules.MinReplicas.Minimum; got != 5 {
		t.Fatalf("minimum %d after the write completed, want 5", got)
	}
}
