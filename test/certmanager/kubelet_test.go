package certmanager_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// secretVolume does for a Secret what the kubelet does for a Secret volume,
// with a watch instead of the kubelet's sync period: it projects the keys
// into dir the way the kubelet's AtomicWriter does. Each version goes into
// a fresh hidden folder, the `..data` symlink is swapped to it with one
// rename, and every key is a symlink through `..data`, so a reader sees
// either the old pair of files or the new one, never a mix.
type secretVolume struct {
	dir  string
	keys []string

	mu       sync.Mutex
	current  map[string][]byte
	versions []projected
	err      error
	changed  chan struct{} // closed and replaced on every projection
}

// projected is one version of the Secret written into the folder.
type projected struct {
	data map[string][]byte
	// seen is when the watch delivered the Secret, written when the
	// symlink swap was done.
	seen, written time.Time
}

// projectSecret starts projecting keys of Secret namespace/name into dir
// until ctx ends, and returns once the Secret's first version is on disk.
func projectSecret(ctx context.Context, t *testing.T, cs kubernetes.Interface, namespace, name, dir string, keys ...string) *secretVolume {
	t.Helper()
	v := &secretVolume{dir: dir, keys: keys, changed: make(chan struct{})}
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "secrets", namespace, fields.OneTermEqualSelector("metadata.name", name))
	informer := cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, cache.Indexers{})
	project := func(obj any) {
		if s, ok := obj.(*corev1.Secret); ok {
			v.project(s, time.Now())
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    project,
		UpdateFunc: func(_, obj any) { project(obj) },
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); informer.Run(ctx.Done()) }()
	t.Cleanup(func() { <-done })
	if _, err := v.waitFor(ctx, 30*time.Second, func(p projected) bool { return true }); err != nil {
		t.Fatalf("projecting Secret %s/%s: %v", namespace, name, err)
	}
	return v
}

func (v *secretVolume) project(s *corev1.Secret, seen time.Time) {
	data := make(map[string][]byte, len(v.keys))
	for _, k := range v.keys {
		if len(s.Data[k]) == 0 {
			return // not issued yet
		}
		data[k] = s.Data[k]
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil || sameData(v.current, data) {
		return
	}
	if err := v.swap(data); err != nil {
		v.err = fmt.Errorf("projecting Secret %s/%s: %w", s.Namespace, s.Name, err)
	} else {
		v.current = data
		v.versions = append(v.versions, projected{data: data, seen: seen, written: time.Now()})
	}
	close(v.changed)
	v.changed = make(chan struct{})
}

// swap writes data into a new hidden folder and points ..data at it.
func (v *secretVolume) swap(data map[string][]byte) error {
	next, err := os.MkdirTemp(v.dir, "..rev-")
	if err != nil {
		return err
	}
	for k, b := range data {
		if err := os.WriteFile(filepath.Join(next, k), b, 0o600); err != nil {
			return err
		}
	}
	link := filepath.Join(v.dir, "..data")
	previous, _ := os.Readlink(link)
	tmp := filepath.Join(v.dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(next), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return err
	}
	for _, k := range v.keys {
		path := filepath.Join(v.dir, k)
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", k), path); err != nil {
				return err
			}
		}
	}
	if previous != "" {
		return os.RemoveAll(filepath.Join(v.dir, previous))
	}
	return nil
}

// latest is the version last written.
func (v *secretVolume) latest() projected {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.versions[len(v.versions)-1]
}

// waitFor waits until a projected version satisfies ok and returns it.
func (v *secretVolume) waitFor(ctx context.Context, timeout time.Duration, ok func(projected) bool) (projected, error) {
	deadline := time.After(timeout)
	for {
		v.mu.Lock()
		err, changed := v.err, v.changed
		var last projected
		if n := len(v.versions); n > 0 {
			last = v.versions[n-1]
		}
		v.mu.Unlock()
		if err != nil {
			return projected{}, err
		}
		if last.data != nil && ok(last) {
			return last, nil
		}
		select {
		case <-changed:
		case <-deadline:
			return projected{}, fmt.Errorf("no matching version within %s", timeout)
		case <-ctx.Done():
			return projected{}, ctx.Err()
		}
	}
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if !bytes.Equal(x, b[k]) {
			return false
		}
	}
	return true
}
