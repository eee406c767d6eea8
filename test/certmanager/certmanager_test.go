package certmanager_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"

	"github.com/scaleguard/scaleguard/test/certmanager"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

const (
	cmNamespace      = "cert-manager"
	releaseNamespace = "scaleguard-system"
	// Names the chart gives release "sg".
	caCertificate      = "sg-scaleguard-ca"
	servingCertificate = "sg-scaleguard-serving"
	servingSecret      = "sg-scaleguard-tls"
	webhookConfigName  = "sg-scaleguard"
	workloadNamespace  = "team-a"
)

// TestChartWithCertManager installs cert-manager's own chart and scaleguard's
// chart with certManager.enabled (the default) into a real API server, runs
// cert-manager's controllers, CA injector and webhook in this process as the
// chart's ServiceAccounts, and checks the whole certificate life: the
// chart's Certificates become Ready, the CA is injected into scaleguard's
// webhook configurations, scaleguard serves the issued certificate and the
// API server's calls to it succeed; then a forced re-issue reaches the
// running scaleguard through a Secret volume without a restart, while calls
// through the webhooks keep succeeding.
//
// No kubelet runs in the test bed, so no chart's pods start: cert-manager's
// components run in-process (see package certmanager), scaleguard runs as a
// local process behind webhook.url, and the test projects the serving
// Secret into scaleguard's certificate folder the way the kubelet updates a
// Secret volume.
func TestChartWithCertManager(t *testing.T) {
	began := time.Now()
	ctx := t.Context()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := certmanager.LocateModule(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()

	// scaleguard builds while the control plane starts.
	var bin string
	var buildErr error
	built := make(chan struct{})
	go func() { defer close(built); bin, buildErr = harness.Build(ctx, root, work) }()
	t.Cleanup(func() { <-built })

	bed := testbed.Start(t, testbed.Options{CRDDirectoryPaths: []string{mod.CRDDir()}})
	t.Logf("control plane with the CRDs of %s %s started in %s", certmanager.ModulePath, mod.Version, bed.StartDuration.Round(time.Millisecond))
	cm, err := cmclient.NewForConfig(bed.Config)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := harness.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	sgPort, cmWebhookPort := ports[0], ports[1]
	helm := func(args ...string) string {
		t.Helper()
		res, err := bed.Helm(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return res.Stderr
	}

	// cert-manager, installed by its own chart. startupapicheck is a Job
	// that would wait for a kubelet; the test does its check below.
	helm("install", "cert-manager", mod.ChartDir(), "--namespace", cmNamespace, "--create-namespace",
		"--set", "webhook.url.host=localhost:"+strconv.Itoa(cmWebhookPort),
		"--set", "startupapicheck.enabled=false")
	cmp := newComponents(t, work)
	kubeconfig := func(serviceAccount string) string {
		path := filepath.Join(work, serviceAccount+".kubeconfig")
		if err := certmanager.ServiceAccountKubeconfig(bed.Kubeconfig, path, cmNamespace, serviceAccount); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cmp.startWebhook(kubeconfig("cert-manager-webhook"), cmWebhookPort)
	controllerKubeconfig, injectorKubeconfig := kubeconfig("cert-manager"), kubeconfig("cert-manager-cainjector")
	cmp.start("controller", func(ctx context.Context) error {
		return certmanager.RunController(ctx, certmanager.ControllerOptions{Kubeconfig: controllerKubeconfig})
	})
	cmp.start("cainjector", func(ctx context.Context) error { return certmanager.RunCAInjector(ctx, injectorKubeconfig) })

	// What cmctl check api (the chart's startupapicheck) does: a dry-run
	// Certificate passes only when the API server reaches cert-manager's
	// webhook through the CA the injector copied from the webhook's Secret.
	probe := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "check-api", Namespace: "default"},
		Spec: cmapi.CertificateSpec{
			SecretName: "check-api", DNSNames: []string{"check-api.example.com"},
			IssuerRef: cmmeta.IssuerReference{Name: "check-api"},
		},
	}
	cmp.eventually("cert-manager's API (webhook through its injected CA)", time.Minute, func() error {
		_, err := cm.CertmanagerV1().Certificates("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	webhookCA := secretData(t, bed, cmNamespace, "cert-manager-webhook-ca", "ca.crt")
	checkCABundles(t, bed, "cert-manager-webhook", webhookCA)
	t.Logf("cert-manager answering %s after start", time.Since(began).Round(time.Millisecond))

	// scaleguard's chart with its cert-manager chain.
	// cert-manager's webhook judges the chart's Issuers and Certificates
	// now: an invalid one fails the install, a warning (cert-manager warns
	// of deprecated Issuer fields) reaches helm's stderr through client-go.
	if stderr := helm("install", "sg", filepath.Join(root, "charts", "scaleguard"), "--namespace", releaseNamespace, "--create-namespace",
		"--set", "webhook.url=https://127.0.0.1:"+strconv.Itoa(sgPort),
		"--set", "tls.extraIPAddresses={127.0.0.1}"); strings.Contains(strings.ToLower(stderr), "warning") {
		t.Errorf("helm install of the chart printed warnings:\n%s", stderr)
	}
	cmp.eventually("the chart's Certificates are Ready", time.Minute, func() error {
		for _, name := range []string{caCertificate, servingCertificate} {
			crt, err := cm.CertmanagerV1().Certificates(releaseNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !apiutil.CertificateHasCondition(crt, cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}) {
				return fmt.Errorf("Certificate %s not Ready: %+v", name, crt.Status.Conditions)
			}
		}
		return nil
	})
	checkRequests(t, cm)
	caPEM := secretData(t, bed, releaseNamespace, caCertificate, "ca.crt")
	cmp.eventually("the CA is injected into scaleguard's webhook configurations", 30*time.Second, func() error {
		return caBundlesEqual(t, bed, webhookConfigName, caPEM)
	})
	t.Logf("chart's certificates Ready and CA injected %s after start", time.Since(began).Round(time.Millisecond))

	// The serving Secret reaches scaleguard as a Secret volume would.
	certDir := t.TempDir()
	volume := projectSecret(ctx, t, bed.Clientset, releaseNamespace, servingSecret, certDir, "tls.crt", "tls.key")
	issued := volume.latest()
	first := checkServingCertificate(t, issued.data["tls.crt"], caPEM)
	<-built
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	// StartWith writes the same bytes through the volume's symlinks.
	sg, err := harness.StartWith(ctx, bin, certDir, harness.Options{
		Settings: configMapData(t, bed, releaseNamespace, "sg-scaleguard-settings", "settings.yaml"),
		Port:     sgPort, CA: caPEM, Cert: issued.data["tls.crt"], Key: issued.data["tls.key"],
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sg.Stop() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sgPort))
	served, err := servedCertificate(addr, caPEM)
	if err != nil {
		t.Fatalf("TLS to scaleguard with the injected CA: %v", err)
	}
	if !served.Equal(first) {
		t.Fatalf("scaleguard serves serial %s, cert-manager issued %s", served.SerialNumber, first.SerialNumber)
	}
	if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workloadNamespace}}); err != nil {
		t.Fatal(err)
	}
	checkKubectl(t, cmp, bed)

	// Renewal under load.
	calls := webhookCalls{cs: quietClientset(t, bed.Config), namespace: workloadNamespace}
	startedAt, err := scrape(sg.MetricsAddr, "process_start_time_seconds")
	if err != nil || startedAt == 0 {
		t.Fatalf("process_start_time_seconds of scaleguard: %v %v", startedAt, err)
	}
	var rec, burstRec callRecord
	stopLoad := calls.load(ctx, 100*time.Millisecond, &rec)
	loadStopped := false
	defer func() {
		if !loadStopped {
			stopLoad()
		}
	}()
	waitCalls := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for got, _ := rec.result(); got < n; got, _ = rec.result() {
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls through the webhooks in 30s, want %d", got, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCalls(5) // calls before the renewal, on the old certificate
	renewedAt := time.Now()
	if err := certmanager.Renew(ctx, cm, releaseNamespace, servingCertificate); err != nil {
		t.Fatal(err)
	}
	next, err := volume.waitFor(ctx, time.Minute, func(p projected) bool {
		return !bytes.Equal(p.data["tls.crt"], issued.data["tls.crt"])
	})
	if err != nil {
		t.Fatalf("the re-issued certificate never reached the Secret: %v", err)
	}
	second := checkServingCertificate(t, next.data["tls.crt"], caPEM)
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 || bytes.Equal(second.RawSubjectPublicKeyInfo, first.RawSubjectPublicKeyInfo) {
		t.Errorf("re-issue kept the serial or the key (rotationPolicy Always): serial %s", second.SerialNumber)
	}
	var servedAt time.Time
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err := servedCertificate(addr, caPEM)
		if err == nil && got.Equal(second) {
			servedAt = time.Now()
			break
		}
		if err == nil && !got.Equal(first) {
			t.Fatalf("scaleguard serves serial %s, neither the old %s nor the new %s", got.SerialNumber, first.SerialNumber, second.SerialNumber)
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaleguard still does not serve the new certificate (serial %s) 30s after it was written: %v", second.SerialNumber, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Connections opened from now on can only carry the new certificate. The
	// API server keeps its connections alive, so calls may still go over
	// ones opened before; bursts wider than its idle connections make it
	// open new ones, whose handshakes must then succeed.
	callsAtSwap, _ := rec.result()
	before, connErr := clientConnections(sgPort)
	opened := 0
	for try, width := 0, len(before)+8; try < 4 && opened == 0 && connErr == nil; try, width = try+1, min(2*width, 64) {
		calls.burst(ctx, width, &burstRec)
		after, err := clientConnections(sgPort)
		if err != nil {
			connErr = err
		}
		for c := range after {
			if !before[c] {
				opened++
			}
		}
	}
	waitCalls(callsAtSwap + 10) // calls after the swap, beside the bursts
	stopLoad()
	loadStopped = true

	total, failures := rec.result()
	bursts, burstFailures := burstRec.result()
	if failures = append(failures, burstFailures...); len(failures) > 0 {
		t.Errorf("%d of %d calls through the webhooks failed during the renewal:\n%s", len(failures), total+bursts, strings.Join(failures, "\n"))
	}
	switch {
	case connErr != nil:
		t.Logf("cannot list TCP connections (%v): new connections after the renewal not checked", connErr)
	case opened == 0:
		t.Errorf("the API server opened no new connection to scaleguard after the renewal (%d open before)", len(before))
	}
	if again, err := scrape(sg.MetricsAddr, "process_start_time_seconds"); err != nil || again != startedAt {
		t.Errorf("scaleguard restarted: process start time %v, then %v (%v)", startedAt, again, err)
	}
	for metric, labels := range map[string][]string{
		"certwatcher_read_certificate_errors_total": nil,
		"scaleguard_admission_reviews_total":        {`result="error"`},
	} {
		if n, err := scrape(sg.MetricsAddr, metric, labels...); err != nil || n != 0 {
			t.Errorf("%s%v = %v (%v), want 0", metric, labels, n, err)
		}
	}
	if err := caBundlesEqual(t, bed, webhookConfigName, caPEM); err != nil {
		t.Errorf("after the renewal: %v", err)
	}
	t.Logf("renewal: serial %s -> %s; Issuing set -> Secret updated (seen by the watch) %s; -> files swapped %s; -> served %s",
		first.SerialNumber, second.SerialNumber,
		next.seen.Sub(renewedAt).Round(time.Millisecond), next.written.Sub(next.seen).Round(time.Millisecond),
		servedAt.Sub(next.written).Round(time.Millisecond))
	t.Logf("%d calls through the webhooks every 100 ms (%d after the swap) and %d in bursts, none failed; the API server opened %d new connections after the swap; same scaleguard process; test took %s",
		total, total-callsAtSwap, bursts, opened, time.Since(began).Round(time.Millisecond))
}
