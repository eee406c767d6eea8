// Package harness runs scaleguard the way a cluster does, on one machine:
// `scaleguard serve` as a real process with its own certificates, and the
// webhook configurations from config/webhook — the ones users install —
// pointed at it. The end-to-end tests and `make demo` both use it.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// Build compiles cmd/scaleguard into dir and returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	return BuildCommand(ctx, root, dir, "./cmd/scaleguard")
}

// BuildForTest compiles cmd/scaleguard into a folder of the test's and
// returns the repository's root and the binary, failing the test when
// either cannot be had.
func BuildForTest(t testing.TB) (root, bin string) {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if bin, err = Build(t.Context(), root, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return root, bin
}

// BuildCommand compiles the main package pkg (e.g. "./cmd/scaleguard") of
// the module at root into dir, with the build tags given (such as
// scaleguard_faultinject, which test/faults uses to make a handler panic),
// and returns the binary's path.
func BuildCommand(ctx context.Context, root, dir, pkg string, tags ...string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	args := []string{"build", "-trimpath", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Scaleguard is a running `scaleguard serve` process.
type Scaleguard struct {
	// Binary is the scaleguard executable.
	Binary string
	// Dir holds the certificates, the settings file and the log.
	Dir string
	// Host is the address the webhook's HTTPS port listens on, 127.0.0.1
	// unless Options.Host says otherwise.
	Host string
	// Port is the webhook's HTTPS port on Host.
	Port int
	// CABundle is the PEM CA that signed the serving certificate.
	CABundle []byte
	// ProbeAddr and MetricsAddr are the plain-HTTP endpoints. With
	// --metrics-secure in Args the metrics port speaks HTTPS and wants a
	// token, which WaitMetric and MetricSum do not send: start such a
	// process without a Kubeconfig (give --kubeconfig in Args), since
	// Restart waits for the cluster view through /metrics.
	ProbeAddr, MetricsAddr string
	// Kubeconfig is the cluster the process watches; empty runs it with
	// --cluster-view=false.
	Kubeconfig string
	// Args are extra flags of `scaleguard serve`, after the harness's own.
	Args []string
	// Env are extra environment variables of the process.
	Env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// Options choose what a started scaleguard uses; the zero value is fine.
type Options struct {
	// Settings is the settings file's content ("" for the built-in standard).
	Settings string
	// Host is an address of this machine the webhook port listens on
	// (--bind-address), such as the address of an endpoint of a Service;
	// empty listens on every address and calls it at 127.0.0.1.
	Host string
	// Port is the webhook port; 0 picks one free on 127.0.0.1.
	Port int
	// CA, Cert and Key (PEM) are a serving certificate to use, such as the
	// one a Helm release stored in its Secret; empty generates one.
	CA, Cert, Key []byte
	// Kubeconfig is the kubeconfig file of the cluster scaleguard judges
	// objects against (a test bed's Kubeconfig). Empty runs scaleguard
	// without its cluster view, and the rules that need one are skipped.
	Kubeconfig string
	// Args are extra flags of `scaleguard serve`, such as
	// --manage-webhook-conditions=false; a flag given twice takes the last.
	Args []string
	// Env are extra environment variables (NAME=value) of the process,
	// such as GOGC.
	Env []string
}

// Start writes certificates and settings into dir and starts `scaleguard
// serve`, returning once /readyz answers. settings is the settings file's
// content ("" for the built-in standard). It runs without a cluster view;
// StartWith and Options.Kubeconfig give it one.
func Start(ctx context.Context, binary, dir, settings string) (*Scaleguard, error) {
	return StartWith(ctx, binary, dir, Options{Settings: settings})
}

// StartWith is Start with options.
func StartWith(ctx context.Context, binary, dir string, o Options) (*Scaleguard, error) {
	ca := o.CA
	if len(o.Cert) == 0 {
		var err error
		if ca, err = writeServingCerts(dir); err != nil {
			return nil, err
		}
	} else {
		for name, data := range map[string][]byte{"tls.crt": o.Cert, "tls.key": o.Key} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "settings.yaml"), []byte(o.Settings), 0o644); err != nil {
		return nil, err
	}
	ports, err := FreePorts(3)
	if err != nil {
		return nil, err
	}
	if o.Port != 0 {
		ports[0] = o.Port
	}
	s := &Scaleguard{
		Binary: binary, Dir: dir, Host: o.Host, Port: ports[0], CABundle: ca,
		ProbeAddr:   "127.0.0.1:" + strconv.Itoa(ports[1]),
		MetricsAddr: "127.0.0.1:" + strconv.Itoa(ports[2]),
		Kubeconfig:  o.Kubeconfig,
		Args:        o.Args,
		Env:         o.Env,
	}
	return s, s.Restart(ctx)
}

// URL is the base URL the API server calls.
func (s *Scaleguard) URL() string {
	return "https://" + net.JoinHostPort(s.address(), strconv.Itoa(s.Port))
}

// address is where the webhook port answers.
func (s *Scaleguard) address() string {
	if s.Host == "" {
		return "127.0.0.1"
	}
	return s.Host
}

// SettingsPath is the settings file the process watches.
func (s *Scaleguard) SettingsPath() string { return filepath.Join(s.Dir, "settings.yaml") }

// LogPath is where the process's output goes.
func (s *Scaleguard) LogPath() string { return filepath.Join(s.Dir, "scaleguard.log") }

// Restart starts the process again after Stop or Kill (or for the first
// time) and waits until it is ready and, with a Kubeconfig, until its
// cluster view has synced.
func (s *Scaleguard) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("scaleguard is already running")
	}
	log, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := []string{"serve",
		"--port", strconv.Itoa(s.Port), "--cert-dir", s.Dir, "--config", s.SettingsPath(),
		"--probe-addr", s.ProbeAddr, "--metrics-addr", s.MetricsAddr, "--log-format", "console"}
	if s.Host != "" {
		args = append(args, "--bind-address", s.Host)
	}
	if s.Kubeconfig != "" {
		args = append(args, "--kubeconfig", s.Kubeconfig)
	} else {
		args = append(args, "--cluster-view=false")
	}
	args = append(args, s.Args...)
	cmd := exec.Command(s.Binary, args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting scaleguard serve: %w", err)
	}
	s.cmd, s.log, s.done = cmd, log, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	if s.Kubeconfig == "" {
		return nil
	}
	// Ready does not wait for the cluster view (the webhook answers from
	// the object alone meanwhile); tests want the rules that need it.
	return s.waitClusterView(ctx, time.Minute)
}

// waitClusterView waits until the process reports its cluster view synced
// (scaleguard_cluster_view_synced 1 on /metrics).
func (s *Scaleguard) waitClusterView(ctx context.Context, timeout time.Duration) error {
	return s.WaitMetric(ctx, "scaleguard_cluster_view_synced", timeout, func(v float64) bool { return v == 1 })
}

// WaitMetric polls /metrics until the unlabelled series name has a value ok
// accepts, the process exits, or timeout passes.
func (s *Scaleguard) WaitMetric(ctx context.Context, name string, timeout time.Duration, ok func(float64) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.MetricsAddr+"/metrics", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for line := range strings.Lines(string(body)) {
				value, found := strings.CutPrefix(strings.TrimSpace(line), name+" ")
				if v, err := strconv.ParseFloat(value, 64); found && err == nil && ok(v) {
					return nil
				}
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("scaleguard serve exited while waiting for %s; see %s:\n%s", name, s.LogPath(), tail(s.LogPath()))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; see %s", name, ctx.Err(), s.LogPath())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MetricSum adds up every series of the metric family name on /metrics
// whose labels contain each of labels (`handler="x"`); 0 when none does.
func (s *Scaleguard) MetricSum(ctx context.Context, name string, labels ...string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.MetricsAddr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		matched := true
		for _, l := range labels {
			matched = matched && strings.Contains(series, l)
		}
		if !matched {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}

func (s *Scaleguard) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.ProbeAddr+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("scaleguard serve exited before it was ready; see %s:\n%s", s.LogPath(), tail(s.LogPath()))
		case <-ctx.Done():
			return fmt.Errorf("scaleguard serve not ready: %w; see %s", ctx.Err(), s.LogPath())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PID is the running process's ID, 0 when it is not running.
func (s *Scaleguard) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop ends the process with SIGTERM and waits for it to drain and exit.
func (s *Scaleguard) Stop() error { return s.signal(syscall.SIGTERM) }

// Kill ends the process with SIGKILL.
func (s *Scaleguard) Kill() error { return s.signal(syscall.SIGKILL) }

func (s *Scaleguard) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	err := s.log.Close()
	// The port must refuse connections before a caller tests "webhook down".
	for i := 0; i < 100; i++ {
		c, dialErr := net.DialTimeout("tcp", net.JoinHostPort(s.address(), strconv.Itoa(s.Port)), 100*time.Millisecond)
		if dialErr != nil {
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// FreePorts returns n ports on 127.0.0.1 that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Tail is the last n bytes of the file at path, for a failure message.
func Tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

func tail(path string) string { return Tail(path, 4000) }
