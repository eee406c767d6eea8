package certmanager_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/scaleguard/scaleguard/test/certmanager"
)

// components are the cert-manager components a test runs in its process.
type components struct {
	t   *testing.T
	log logr.Logger
	// logPath holds the controller's and the injector's logs; its tail is
	// printed when the test fails.
	logPath string
	running []*component
}

type component struct {
	name string
	done chan struct{}
	err  error
}

func newComponents(t *testing.T, dir string) *components {
	c := &components{t: t, logPath: filepath.Join(dir, "cert-manager.log")}
	f, err := os.Create(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	// Verbosity 2 is cert-manager's info level, the chart's --v=2. The
	// file outlives the test's logging: informers may log while stopping.
	c.log = funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: 2})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", c.logPath, tail(c.logPath, 60))
		}
		mu.Lock()
		defer mu.Unlock()
		f.Close()
	})
	return c
}

// start runs f until the test ends, with a logger named name in its
// context; the test's cleanup waits for it to return.
func (c *components) start(name string, f func(context.Context) error) {
	comp := &component{name: name, done: make(chan struct{})}
	ctx := logr.NewContext(c.t.Context(), c.log.WithName(name))
	go func() {
		defer close(comp.done)
		comp.err = f(ctx)
	}()
	c.running = append(c.running, comp)
	c.t.Cleanup(func() {
		<-comp.done
		if comp.err != nil {
			c.t.Errorf("cert-manager %s: %v", name, comp.err)
		}
	})
}

// startWebhook runs cert-manager's webhook server on port (StartWebhook).
func (c *components) startWebhook(kubeconfig string, port int) {
	certmanager.StartWebhook(c.t, kubeconfig, port)
}

// eventually retries f every 100 ms until it succeeds, failing the test
// after timeout or as soon as a component has stopped.
func (c *components) eventually(what string, timeout time.Duration, f func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		for _, comp := range c.running {
			select {
			case <-comp.done:
				c.t.Fatalf("%s: cert-manager %s stopped: %v", what, comp.name, comp.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		select {
		case <-c.t.Context().Done():
			c.t.Fatalf("%s: %v", what, c.t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(string(bytes.TrimSpace(b)), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
