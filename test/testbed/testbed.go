// Package testbed runs a real control plane for tests: kube-apiserver and etcd
// (through controller-runtime's envtest), plus the real kubectl and helm
// binaries, all built from pinned sources by hack/build-tools.sh.
//
// In a test:
//
//	tb := testbed.Start(t, testbed.Options{})
//	_, err := tb.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
//	res, err := tb.Kubectl(ctx, "get", "ns", "-o", "name")
//
// Start skips the test when the binaries are not built, except in CI
// (CI=true), where it fails: a CI run must never pass by skipping.
//
// For one control plane per test binary, call New in TestMain and Stop it
// after m.Run(); use IsToolsMissing and InCI to decide between failing and
// skipping there.
package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options tune the control plane. The zero value is a plain API server.
type Options struct {
	// APIServerFlags are set on kube-apiserver, replacing envtest's value
	// for the same flag, e.g. {"feature-gates": {"Foo=true"}}.
	APIServerFlags map[string][]string
	// CRDDirectoryPaths are folders or files of CRDs installed at start.
	CRDDirectoryPaths []string
	// WebhookInstallOptions installs webhook configurations pointing at a
	// local server, with a generated serving certificate (see envtest).
	WebhookInstallOptions envtest.WebhookInstallOptions
	// StartTimeout bounds the start of etcd and of kube-apiserver each
	// (default 60s, or $KUBEBUILDER_CONTROLPLANE_START_TIMEOUT).
	StartTimeout time.Duration
	// AttachOutput copies the control plane's output to this process's
	// stdout/stderr (also $KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true).
	AttachOutput bool
}

// Testbed is a running control plane with clients and CLI runners.
type Testbed struct {
	// Env is the underlying envtest environment.
	Env *envtest.Environment
	// Config is an admin (system:masters) REST config.
	Config *rest.Config
	// Client is a controller-runtime client using client-go's scheme.
	Client client.Client
	// Clientset is a typed client-go clientset.
	Clientset kubernetes.Interface
	// BinDir holds kube-apiserver, etcd, kubectl and helm.
	BinDir string
	// Kubeconfig is the path of a kubeconfig file for Config, used by
	// Kubectl and Helm and usable by any other program.
	Kubeconfig string
	// StartDuration is how long the control plane took to start.
	StartDuration time.Duration

	workDir string
	env     []string
}

// Start starts a test bed for tb and stops it when tb ends. It skips tb when
// the binaries are missing outside CI or under -short, and fails it in CI.
func Start(tb testing.TB, opts Options) *Testbed {
	tb.Helper()
	SkipShort(tb)
	bed, err := New(context.Background(), opts)
	if err != nil {
		if IsToolsMissing(err) && !InCI() {
			tb.Skipf("skipping: %v", err)
		}
		tb.Fatalf("starting test bed: %v", err)
	}
	tb.Cleanup(func() {
		if err := bed.Stop(); err != nil {
			tb.Errorf("stopping test bed: %v", err)
		}
	})
	return bed
}

// IsToolsMissing reports whether err says the binaries are not built.
func IsToolsMissing(err error) bool { return errors.Is(err, ErrToolsMissing) }

// New starts a test bed; the caller must Stop it.
func New(ctx context.Context, opts Options) (*Testbed, error) {
	binDir, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory:    binDir,
		UseExistingCluster:       new(false),
		CRDDirectoryPaths:        opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing:    len(opts.CRDDirectoryPaths) > 0,
		WebhookInstallOptions:    opts.WebhookInstallOptions,
		AttachControlPlaneOutput: opts.AttachOutput,
		ControlPlaneStartTimeout: opts.StartTimeout,
	}
	if env.ControlPlaneStartTimeout == 0 && os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		// envtest's 20s is short for a 2-core machine that is also compiling.
		env.ControlPlaneStartTimeout = 60 * time.Second
	}
	// Explicit paths, so that stray TEST_ASSET_* variables cannot mix in
	// binaries of other versions.
	api := env.ControlPlane.GetAPIServer()
	api.Path = filepath.Join(binDir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(binDir, "etcd")}
	env.ControlPlane.KubectlPath = filepath.Join(binDir, "kubectl")
	// Webhooks and aggregated APIs backed by a Service are called at the
	// Service's endpoints, not its ClusterIP: no kube-proxy runs here, and a
	// ClusterIP (10.0.0.x) would send the API server's calls off this
	// machine. With no endpoints the call fails locally, as it should.
	api.Configure().Set("enable-aggregator-routing", "true")
	for flag, values := range opts.APIServerFlags {
		api.Configure().Set(flag, values...)
	}
	// etcd's data and the API server's certificates in folders of the test
	// bed's, not envtest's temporary ones (which its Stop removes): the
	// control plane can then be stopped and started again with every object
	// and the admin credentials kept (RestartControlPlane).
	workDir, err := os.MkdirTemp("", "scaleguard-testbed-")
	if err != nil {
		return nil, err
	}
	env.ControlPlane.Etcd.DataDir = filepath.Join(workDir, "etcd")
	api.CertDir = filepath.Join(workDir, "apiserver")
	for _, d := range []string{env.ControlPlane.Etcd.DataDir, api.CertDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			_ = os.RemoveAll(workDir)
			return nil, err
		}
	}

	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		_ = os.RemoveAll(workDir)
		return nil, fmt.Errorf("starting envtest (kube-apiserver + etcd from %s): %w", binDir, err)
	}
	bed := &Testbed{Env: env, Config: cfg, BinDir: binDir, StartDuration: time.Since(start), workDir: workDir}

	if err := bed.init(); err != nil {
		_ = bed.Stop()
		return nil, err
	}
	return bed, nil
}

func (b *Testbed) init() error {
	var err error
	if b.Client, err = client.New(b.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
		return fmt.Errorf("controller-runtime client: %w", err)
	}
	if b.Clientset, err = kubernetes.NewForConfig(b.Config); err != nil {
		return fmt.Errorf("clientset: %w", err)
	}
	b.Kubeconfig = filepath.Join(b.workDir, "kubeconfig")
	if err := os.WriteFile(b.Kubeconfig, b.Env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	// kubectl and helm get a private home: no user config, cache or
	// repositories leak in, and nothing is written outside workDir.
	home := filepath.Join(b.workDir, "home")
	dirs := map[string]string{
		"HOME":             home,
		"KUBECACHEDIR":     filepath.Join(home, ".kube", "cache"),
		"HELM_CACHE_HOME":  filepath.Join(home, "helm", "cache"),
		"HELM_CONFIG_HOME": filepath.Join(home, "helm", "config"),
		"HELM_DATA_HOME":   filepath.Join(home, "helm", "data"),
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := dirs[name]; ours || name == "KUBECONFIG" || strings.HasPrefix(name, "HELM_") {
			continue
		}
		b.env = append(b.env, kv)
	}
	for name, d := range dirs {
		b.env = append(b.env, name+"="+d)
	}
	b.env = append(b.env, "KUBECONFIG="+b.Kubeconfig, "HELM_KUBECONTEXT=", "PATH="+b.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return nil
}

// StopControlPlane stops kube-apiserver, then etcd, keeping etcd's data
// and the API server's certificates for StartControlPlane.
func (b *Testbed) StopControlPlane() error {
	// A graceful stop that outlasts StopTimeout ends in SIGKILL (envtest
	// reports it as an error); under load kube-apiserver waits on its
	// requests in flight that long. Either way it is down.
	if err := b.Env.ControlPlane.APIServer.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	if err := b.Env.ControlPlane.Etcd.Stop(); err != nil {
		return fmt.Errorf("stopping etcd: %w", err)
	}
	return nil
}

// StartControlPlane starts etcd, then kube-apiserver, on the addresses and
// with the data and credentials they had: Config and Kubeconfig stay
// valid. It returns once the API server answers /healthz.
func (b *Testbed) StartControlPlane() error {
	if err := b.Env.ControlPlane.Etcd.Start(); err != nil {
		return fmt.Errorf("starting etcd again: %w", err)
	}
	if err := b.Env.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return nil
}

// Stop stops the control plane and removes the test bed's files.
func (b *Testbed) Stop() error {
	var errs []error
	if b.Env != nil {
		errs = append(errs, b.Env.Stop())
	}
	if b.workDir != "" {
		errs = append(errs, os.RemoveAll(b.workDir))
	}
	return errors.Join(errs...)
}

// Result is the output of a CLI run.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Kubectl runs the test bed's kubectl with its kubeconfig.
func (b *Testbed) Kubectl(ctx context.Context, args ...string) (Result, error) {
	return b.Run(ctx, nil, "kubectl", args...)
}

// KubectlStdin runs kubectl with stdin, e.g. `apply -f -`.
func (b *Testbed) KubectlStdin(ctx context.Context, stdin string, args ...string) (Result, error) {
	return b.Run(ctx, strings.NewReader(stdin), "kubectl", args...)
}

// Helm runs the test bed's helm with its kubeconfig and a private home.
func (b *Testbed) Helm(ctx context.Context, args ...string) (Result, error) {
	return b.Run(ctx, nil, "helm", args...)
}

// Run runs binary (a name in BinDir, or a path) with the test bed's
// environment: KUBECONFIG, a private HOME, and BinDir first in PATH. A
// non-zero exit is an error that quotes stderr; the Result is filled anyway.
func (b *Testbed) Run(ctx context.Context, stdin io.Reader, binary string, args ...string) (Result, error) {
	path := binary
	if !strings.ContainsRune(binary, filepath.Separator) {
		path = filepath.Join(b.BinDir, binary)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = b.env // the working directory stays the caller's (relative -f paths)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", binary, strings.Join(args, " "), err, strings.TrimSpace(res.Stderr))
	}
	return res, nil
}
