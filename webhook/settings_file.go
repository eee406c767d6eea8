package webhook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-logr/logr"

	"github.com/scaleguard/scaleguard/policies"
)

const (
	// settingsDebounce lets a burst of events (truncate then write, an
	// editor's rename dance, the ConfigMap symlink swap) settle before the
	// file is read, so a half-written file is rarely seen.
	settingsDebounce = 100 * time.Millisecond
	// settingsResync re-reads the file even without an event, in case one
	// was lost (inotify queue overflow, the directory itself replaced).
	settingsResync = time.Minute
)

// SettingsFile is a SettingsSource read from a YAML settings file and
// reloaded when the file changes. A file that fails to load after the first
// time is logged and counted, and the last good settings stay in force: a
// typo in the ConfigMap must not take admission down.
type SettingsFile struct {
	path    string
	metrics *Metrics
	log     logr.Logger
	current atomic.Pointer[policies.Settings]

	// seen is the content last read, good or bad, and readFailed whether the
	// last read failed; only Start's goroutine uses them after the load.
	seen       []byte
	readFailed bool
}

// NewSettingsFile loads the settings at path. An empty path means the
// defaults, with nothing to watch. An error names the file and the key at
// fault.
func NewSettingsFile(path string, m *Metrics, log logr.Logger) (*SettingsFile, error) {
	f := &SettingsFile{path: path, metrics: m, log: log.WithValues("path", path)}
	if path == "" {
		d := policies.Defaults()
		f.current.Store(&d)
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.count("error")
		return nil, fmt.Errorf("loading settings: %w", err)
	}
	s, err := policies.ParseSettings(data)
	if err != nil {
		f.count("error")
		return nil, fmt.Errorf("loading settings from %s: %w", path, err)
	}
	f.seen = data
	f.current.Store(&s)
	f.count("success")
	return f, nil
}

// Current implements SettingsSource. The settings returned are shared:
// callers must not change them.
func (f *SettingsFile) Current() *policies.Settings { return f.current.Load() }

// Start watches the file until ctx ends. It watches the directory rather
// than the file: a mounted ConfigMap is updated by swapping its ..data
// symlink, and editors write a new file and rename it over the old one,
// both of which a watch on the file itself would lose.
func (f *SettingsFile) Start(ctx context.Context) error {
	if f.path == "" {
		<-ctx.Done()
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching settings: %w", err)
	}
	defer w.Close()
	dir := filepath.Dir(f.path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watching settings directory %s: %w", dir, err)
	}
	// A change between the first load and the watch would go unseen.
	f.reload()

	resync := time.NewTicker(settingsResync)
	defer resync.Stop()
	var settled <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			// Which names matter depends on how the file is published
			// (itself, ..data, a temporary name), so any change in the
			// directory triggers a read; unchanged content is ignored.
			if ev.Op == fsnotify.Chmod {
				continue
			}
			settled = time.After(settingsDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			f.log.Error(err, "watching settings; reading the file again")
			settled = time.After(settingsDebounce)
		case <-settled:
			settled = nil
			f.reload()
		case <-resync.C:
			f.reload()
		}
	}
}

// reload reads the file and, when its content changed, puts the new
// settings in force or keeps the old ones if the new are bad.
func (f *SettingsFile) reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		// Counted once per failure, not once per event or resync.
		if !f.readFailed {
			f.readFailed = true
			f.seen = nil
			f.count("error")
			f.log.Error(err, "reading settings; keeping the previous settings")
		}
		return
	}
	f.readFailed = false
	if f.seen != nil && bytes.Equal(data, f.seen) {
		return
	}
	// An empty file after a non-empty one is almost always a write in
	// progress (truncate, then write): applying it would put the defaults
	// in force for a moment. The write that follows brings the content; a
	// file meant to hold the defaults says so with `{}`.
	if len(f.seen) > 0 && len(bytes.TrimSpace(data)) == 0 {
		return
	}
	f.seen = data
	s, err := policies.ParseSettings(data)
	if err != nil {
		f.count("error")
		f.log.Error(err, "settings file rejected; keeping the previous settings")
		return
	}
	f.current.Store(&s)
	f.count("success")
	f.log.Info("settings reloaded", "mode", s.Mode)
}

func (f *SettingsFile) count(result string) {
	if f.metrics != nil {
		f.metrics.SettingsReloads.WithLabelValues(result).Inc()
	}
}
