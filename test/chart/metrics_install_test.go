package chart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestSecureMetricsThroughTheAPIServer installs the chart with
// metrics.secure into a real API server and runs scaleguard as the
// release's ServiceAccount with the Deployment's --metrics-secure and the
// release's certificate. A scraper configured as the chart's ServiceMonitor
// says (the CA of its Secret, its server name) then gets: plain HTTP, no
// metrics; no token or a forged one, 401; the token of a ServiceAccount
// the API server issued but nothing binds, 403; the same token once
// metrics.readers binds the chart's metrics-reader ClusterRole to it, the
// metrics. The only RBAC scaleguard has here is the chart's: its cluster
// view is off, so the metrics-auth ClusterRole alone lets it ask.
func TestSecureMetricsThroughTheAPIServer(t *testing.T) {
	ctx := context.Background()
	bed := testbed.Start(t, testbed.Options{})
	root, bin := harness.BuildForTest(t)
	dir := t.TempDir()
	chart := filepath.Join(root, "charts", "scaleguard")
	helm := func(args ...string) {
		t.Helper()
		if _, err := bed.Helm(ctx, args...); err != nil {
			t.Fatalf("helm %v: %v", args, err)
		}
	}
	values := []string{"--namespace", releaseNamespace, "--set", "certManager.enabled=false", "--set", "metrics.secure=true"}
	helm(append([]string{"install", "sg", chart, "--create-namespace"}, values...)...)

	// The scrape configuration of the ServiceMonitor the same values
	// render (the test bed has no Prometheus Operator CRDs to install it).
	var sm serviceMonitor
	decodeInto(t, find(t, objects(t, render(t, append(values, "--set", "metrics.serviceMonitor.enabled=true")...)), "ServiceMonitor"), &sm)
	endpoint := sm.Spec.Endpoints[0]
	if endpoint.TLSConfig == nil || endpoint.TLSConfig.CA == nil {
		t.Fatalf("the ServiceMonitor names no CA: %+v", endpoint.TLSConfig)
	}
	var secret corev1.Secret
	if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: endpoint.TLSConfig.CA.Secret.Name}, &secret); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(secret.Data[endpoint.TLSConfig.CA.Secret.Key]) {
		t.Fatalf("Secret %s has no PEM CA under %q", secret.Name, endpoint.TLSConfig.CA.Secret.Key)
	}

	var deployment appsv1.Deployment
	if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "sg-scaleguard"}, &deployment); err != nil {
		t.Fatal(err)
	}
	if args := deployment.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--metrics-secure") {
		t.Fatalf("the Deployment's args %v lack --metrics-secure", args)
	}
	kubeconfig := filepath.Join(dir, "serviceaccount.kubeconfig")
	impersonate(t, bed.Kubeconfig, kubeconfig, "system:serviceaccount:"+releaseNamespace+":"+deployment.Spec.Template.Spec.ServiceAccountName)
	// Started means /readyz answered on the plain-HTTP probe port.
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{
		CA: secret.Data["ca.crt"], Cert: secret.Data["tls.crt"], Key: secret.Data["tls.key"],
		Args: []string{"--kubeconfig", kubeconfig, "--metrics-secure"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sg.Stop() })

	scraper := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: endpoint.TLSConfig.ServerName},
	}}
	defer scraper.CloseIdleConnections()
	scrape := func(c *http.Client, url, token string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	metricsURL := endpoint.Scheme + "://" + sg.MetricsAddr + endpoint.Path
	expect := func(what, token string, want int, wantBody string) {
		t.Helper()
		code, body, err := scrape(scraper, metricsURL, token)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if code != want || !strings.Contains(body, wantBody) || strings.Contains(body, "scaleguard_") {
			t.Errorf("%s: got %d %q, want %d %q and no series", what, code, body, want, wantBody)
		}
	}

	code, body, err := scrape(http.DefaultClient, "http://"+sg.MetricsAddr+"/metrics", "")
	if err != nil || code != http.StatusBadRequest || strings.Contains(body, "scaleguard_") {
		t.Errorf("plain HTTP: got %d %q (%v), want 400 and no series", code, body, err)
	}
	expect("no token", "", http.StatusUnauthorized, "Unauthorized")
	// A token the API server rejects is answered 401, and its review is
	// cached like any other for a minute: scrapes in a row with it cost
	// one TokenReview (docs/operations.md).
	before := apiserverRequests(t, bed, "tokenreviews")
	for range 3 {
		expect("a forged token", "not-a-token", http.StatusUnauthorized, "Unauthorized")
	}
	harness.Eventually(t, 10*time.Second, "one TokenReview for the forged token", func() error {
		if n := apiserverRequests(t, bed, "tokenreviews") - before; n != 1 {
			return fmt.Errorf("%v TokenReviews for 3 scrapes with one forged token", n)
		}
		return nil
	})

	const ns, prometheus = "monitoring", "prometheus"
	if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: prometheus}}); err != nil {
		t.Fatal(err)
	}
	tr, err := bed.Clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, prometheus, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token
	before = apiserverRequests(t, bed, "subjectaccessreviews")
	expect("a ServiceAccount token, not bound", token, http.StatusForbidden, "Authorization denied for user system:serviceaccount:monitoring:prometheus")
	harness.Eventually(t, 10*time.Second, "a SubjectAccessReview for the denied scrape", func() error {
		if n := apiserverRequests(t, bed, "subjectaccessreviews") - before; n != 1 {
			return fmt.Errorf("%v SubjectAccessReviews for one scrape", n)
		}
		return nil
	})

	helm(append([]string{"upgrade", "sg", chart, "--reuse-values", "--set-json",
		fmt.Sprintf(`metrics.readers=[{"kind":"ServiceAccount","name":%q,"namespace":%q}]`, prometheus, ns)}, values[:2]...)...)
	bound := time.Now()
	// The filter caches a denial for 30 s: the grant applies within that.
	harness.Eventually(t, 60*time.Second, "the bound ServiceAccount reads the metrics", func() error {
		code, body, err := scrape(scraper, metricsURL, token)
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, "scaleguard_serving_certificate_expiry_timestamp_seconds") {
			return fmt.Errorf("got %d %.200q", code, body)
		}
		return nil
	})
	t.Logf("the grant applied %s after the upgrade bound the metrics-reader ClusterRole", time.Since(bound).Round(100*time.Millisecond))

	// What scraping costs the API server: the filter caches a token's
	// review for a minute and an allowed access for five, so scrapes in a
	// row with one token ask at most once each (once more if a cache
	// entry expires in between), counted by the API server itself.
	tokenReviews, accessReviews := apiserverRequests(t, bed, "tokenreviews"), apiserverRequests(t, bed, "subjectaccessreviews")
	const scrapes = 20
	for range scrapes {
		if code, _, err := scrape(scraper, metricsURL, token); err != nil || code != http.StatusOK {
			t.Fatalf("a scrape by the bound ServiceAccount: %d, %v", code, err)
		}
	}
	tokenReviews = apiserverRequests(t, bed, "tokenreviews") - tokenReviews
	accessReviews = apiserverRequests(t, bed, "subjectaccessreviews") - accessReviews
	t.Logf("%d scrapes with one token: %v TokenReviews, %v SubjectAccessReviews", scrapes, tokenReviews, accessReviews)
	if tokenReviews > 1 || accessReviews > 1 {
		t.Errorf("%d scrapes with one token made %v TokenReviews and %v SubjectAccessReviews: the filter's caches do not work", scrapes, tokenReviews, accessReviews)
	}
}

// apiserverRequests is the API server's count of requests for resource
// (apiserver_request_total, every verb and code), from its /metrics.
func apiserverRequests(t *testing.T, bed *testbed.Testbed, resource string) float64 {
	t.Helper()
	raw, err := bed.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("the API server's /metrics: %v", err)
	}
	sum := 0.0
	for line := range strings.Lines(string(raw)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(series, "apiserver_request_total{") || !strings.Contains(series, `resource="`+resource+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		sum += v
	}
	return sum
}
