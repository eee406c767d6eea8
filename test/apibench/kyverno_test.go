package apibench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// kyvernoBuildScript builds Kyverno and alone knows its cache folder.
const kyvernoBuildScript = "hack/build-kyverno.sh"

// Names Kyverno reads from its environment (pkg/config); they are the Helm
// chart's for a release named kyverno in namespace kyverno.
const (
	kyvernoNamespace      = "kyverno"
	kyvernoConfigMap      = "kyverno"
	kyvernoMetricsConfig  = "kyverno-metrics"
	kyvernoService        = "kyverno-svc"
	kyvernoDeploymentName = "kyverno-admission-controller"
	// kyvernoWebhookLabel marks every webhook configuration Kyverno manages.
	kyvernoWebhookLabel = "webhook.kyverno.io/managed-by"
)

// kyvernoDir returns the folder hack/build-kyverno.sh builds into (the
// kyverno binary and its crds/), skipping t when it is not built: CI does not
// build Kyverno, so this is a skip there too.
func kyvernoDir(t *testing.T) string {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, kyvernoBuildScript), "--print-dir")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --print-dir: %v", kyvernoBuildScript, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if err := exec.Command("bash", filepath.Join(root, kyvernoBuildScript), "--check").Run(); err != nil {
		t.Skipf("skipping: Kyverno is not built in %s: run `make kyverno` (%s)", dir, kyvernoBuildScript)
	}
	return dir
}

// kyvernoProcess is Kyverno's admission controller run out of cluster
// against a test bed, as its own process: it registers URL webhooks
// (--serverIP) that the API server calls over loopback, and issues its own
// serving certificate for that IP.
type kyvernoProcess struct {
	bed      *testbed.Testbed
	logPath  string
	port     int
	probeNS  string
	started  time.Time
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// startKyverno installs Kyverno's CRDs and configuration into bed, starts
// the admission controller and waits until it serves its webhooks. It skips
// t when Kyverno is not built, and stops Kyverno when t ends, deleting the
// webhook configurations it leaves behind. Flags are added after the
// defaults and win over them (e.g. "--admissionReports=false").
func startKyverno(t *testing.T, bed *testbed.Testbed, flags ...string) *kyvernoProcess {
	t.Helper()
	dir := kyvernoDir(t)
	ctx := context.Background()

	if err := installKyvernoCRDs(bed, filepath.Join(dir, "crds")); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kyvernoNamespace}},
		kyvernoConfig(),
	} {
		if err := bed.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	probe := "kyverno-probe"
	if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probe}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	ports, err := harness.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	k := &kyvernoProcess{bed: bed, logPath: filepath.Join(work, "kyverno.log"), port: ports[0], probeNS: probe}
	log, err := os.Create(k.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child holds its own descriptor
	server := "127.0.0.1:" + strconv.Itoa(k.port)
	args := []string{
		"--kubeconfig=" + bed.Kubeconfig,
		// Out of cluster: webhooks are registered with the URL
		// https://<serverIP>/..., and the serving certificate carries the IP.
		"--serverIP=" + server,
		"--webhookServerHost=127.0.0.1",
		"--webhookServerPort=" + strconv.Itoa(k.port),
		// The chart's secret names (kyverno-svc.kyverno.svc.kyverno-tls-*);
		// Kyverno creates both itself.
		"--caSecretName=" + kyvernoService + "." + kyvernoNamespace + ".svc.kyverno-tls-ca",
		"--tlsSecretName=" + kyvernoService + "." + kyvernoNamespace + ".svc.kyverno-tls-pair",
		"--metricsHost=127.0.0.1",
		"--metricsPort=" + strconv.Itoa(ports[1]),
		"--controllerRuntimeMetricsAddress=127.0.0.1:" + strconv.Itoa(ports[2]),
		// The chart's defaults where they differ from the binary's.
		"--omitEvents=PolicyApplied,PolicySkipped",
		"--admissionReports=true",
		// Measure Kyverno's own engine: never let it hand a policy to the
		// API server as a generated ValidatingAdmissionPolicy.
		"--generateValidatingAdmissionPolicy=false",
		"--loggingFormat=text",
		"--disableLogColor=true",
	}
	args = append(args, flags...)
	cmd := exec.Command(filepath.Join(dir, "kyverno"), args...)
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(),
		"HOME="+home, // nothing written outside the test's folder
		"KYVERNO_NAMESPACE="+kyvernoNamespace,
		"KYVERNO_SERVICEACCOUNT_NAME=kyverno-admission-controller",
		"KYVERNO_ROLE_NAME=kyverno:admission-controller",
		"KYVERNO_DEPLOYMENT="+kyvernoDeploymentName,
		"KYVERNO_SVC="+kyvernoService,
		"KYVERNO_POD_NAME="+kyvernoDeploymentName+"-local", // its leader-election identity
		"INIT_CONFIG="+kyvernoConfigMap,
		"METRICS_CONFIG="+kyvernoMetricsConfig,
	)
	cmd.Stdout, cmd.Stderr = log, log
	k.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kyverno: %v", err)
	}
	k.cmd, k.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(k.done) }()
	t.Cleanup(func() {
		if err := k.stop(); err != nil {
			t.Errorf("stopping kyverno: %v", err)
		}
		if t.Failed() {
			t.Logf("kyverno log (%s), last lines:\n%s", k.logPath, harness.Tail(k.logPath, 6000))
		}
	})

	// Ready: the webhook that validates policies is registered and its
	// server answers TLS with a certificate the registered CA bundle trusts.
	// The registration comes first: for a moment after it the serving
	// certificate's Secret does not exist yet and every call fails.
	k.waitFor(t, 3*time.Minute, "kyverno registers its webhooks and serves them", func() error {
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := bed.Client.Get(ctx, client.ObjectKey{Name: "kyverno-policy-validating-webhook-cfg"}, &vwc); err != nil {
			return err
		}
		if len(vwc.Webhooks) == 0 {
			return errors.New("no webhooks yet")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
			return errors.New("no CA bundle yet")
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", server, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			return err
		}
		return conn.Close()
	})
	return k
}

// installKyvernoCRDs installs every CRD of Kyverno's module (config/crds,
// copied by the build script) and waits until the API server serves them.
func installKyvernoCRDs(bed *testbed.Testbed, crds string) error {
	entries, err := os.ReadDir(crds)
	if err != nil {
		return err
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() {
			paths = append(paths, filepath.Join(crds, e.Name()))
		}
	}
	_, err = envtest.InstallCRDs(bed.Config, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true, MaxTime: 2 * time.Minute})
	if err != nil {
		return fmt.Errorf("installing Kyverno's CRDs from %s: %w", crds, err)
	}
	return nil
}

// kyvernoConfig is the chart's default configuration, less the filters that
// name Kyverno's own in-cluster objects (there are none here): the resource
// filters Kyverno checks on every request and the webhooks' namespace
// selector.
func kyvernoConfig() *corev1.ConfigMap {
	filters := []string{
		"[Event,*,*]", "[*/*,kube-system,*]", "[*/*,kube-public,*]", "[*/*,kube-node-lease,*]",
		"[Node,*,*]", "[Node/?*,*,*]", "[APIService,*,*]", "[APIService/?*,*,*]",
		"[TokenReview,*,*]", "[SubjectAccessReview,*,*]", "[SelfSubjectAccessReview,*,*]",
		"[Binding,*,*]", "[Pod/binding,*,*]", "[ReplicaSet,*,*]", "[ReplicaSet/?*,*,*]",
		"[EphemeralReport,*,*]", "[ClusterEphemeralReport,*,*]",
		"[ConfigMap," + kyvernoNamespace + "," + kyvernoConfigMap + "]",
		"[ConfigMap," + kyvernoNamespace + "," + kyvernoMetricsConfig + "]",
		"[Secret," + kyvernoNamespace + "," + kyvernoService + "." + kyvernoNamespace + ".svc.*]",
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: kyvernoConfigMap, Namespace: kyvernoNamespace},
		Data: map[string]string{
			"enableDefaultRegistryMutation": "true",
			"defaultRegistry":               "docker.io",
			"generateSuccessEvents":         "false",
			"excludeGroups":                 "system:nodes",
			"resourceFilters":               strings.Join(filters, ""),
			"updateRequestThreshold":        "1000",
			"webhooks":                      `{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","` + kyvernoNamespace + `"]}]}}`,
			"webhookAnnotations":            `{"admissions.enforcer/disabled":"true"}`,
		},
	}
}

// PID is the admission controller's process ID (for /proc/<pid>/stat), 0
// once it is stopped.
func (k *kyvernoProcess) PID() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd == nil {
		return 0
	}
	return k.cmd.Process.Pid
}

// intercepting returns an error naming the first Kyverno webhook that
// matches Deployments: an admitted dry run alone would not tell a webhook
// that still costs a call on every create.
func (k *kyvernoProcess) intercepting(ctx context.Context) error {
	var vwcs admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := k.bed.Client.List(ctx, &vwcs, client.HasLabels{kyvernoWebhookLabel}); err != nil {
		return err
	}
	for _, c := range vwcs.Items {
		for _, w := range c.Webhooks {
			if matchesDeployments(w.Rules) {
				return fmt.Errorf("validating webhook %s/%s still matches deployments", c.Name, w.Name)
			}
		}
	}
	var mwcs admissionregistrationv1.MutatingWebhookConfigurationList
	if err := k.bed.Client.List(ctx, &mwcs, client.HasLabels{kyvernoWebhookLabel}); err != nil {
		return err
	}
	for _, c := range mwcs.Items {
		for _, w := range c.Webhooks {
			if matchesDeployments(w.Rules) {
				return fmt.Errorf("mutating webhook %s/%s still matches deployments", c.Name, w.Name)
			}
		}
	}
	return nil
}

func matchesDeployments(rules []admissionregistrationv1.RuleWithOperations) bool {
	for _, r := range rules {
		group := false
		for _, g := range r.APIGroups {
			group = group || g == "apps" || g == "*"
		}
		for _, res := range r.Resources {
			if group && (res == "deployments" || res == "*" || res == "*/*") {
				return true
			}
		}
	}
	return false
}

// waitFor polls f until it returns nil, failing t after within or at once if
// Kyverno exits, with the tail of its log.
func (k *kyvernoProcess) waitFor(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-k.done:
			t.Fatalf("%s: kyverno exited (%v); log %s:\n%s", what, k.cmd.ProcessState, k.logPath, harness.Tail(k.logPath, 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s: %v", what, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends Kyverno (SIGTERM, then SIGKILL after 15 s) and deletes the
// webhook configurations it registered: run with --serverIP it counts as a
// debug run and leaves them (pkg/webhooks/server.go cleans up only when its
// Deployment goes away), and they would point the API server at a closed
// port. Safe to call more than once.
func (k *kyvernoProcess) stop() error {
	k.stopOnce.Do(func() {
		k.mu.Lock()
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(15 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.done
		}
		k.cmd = nil
		k.mu.Unlock()
		k.stopErr = deleteKyvernoWebhooks(context.Background(), k.bed.Client)
	})
	return k.stopErr
}

func deleteKyvernoWebhooks(ctx context.Context, c client.Client) error {
	var errs []error
	for _, obj := range []client.Object{
		&admissionregistrationv1.ValidatingWebhookConfiguration{},
		&admissionregistrationv1.MutatingWebhookConfiguration{},
	} {
		if err := c.DeleteAllOf(ctx, obj, client.HasLabels{kyvernoWebhookLabel}); err != nil {
			errs = append(errs, err)
		}
	}
	// Confirm: anything named kyverno-* left unlabelled would also point at
	// the dead port.
	var vwcs admissionregistrationv1.ValidatingWebhookConfigurationList
	var mwcs admissionregistrationv1.MutatingWebhookConfigurationList
	if err := c.List(ctx, &vwcs); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := c.List(ctx, &mwcs); err != nil {
		return errors.Join(append(errs, err)...)
	}
	for i := range vwcs.Items {
		if strings.HasPrefix(vwcs.Items[i].Name, "kyverno-") {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, &vwcs.Items[i])))
		}
	}
	for i := range mwcs.Items {
		if strings.HasPrefix(mwcs.Items[i].Name, "kyverno-") {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, &mwcs.Items[i])))
		}
	}
	return errors.Join(errs...)
}
