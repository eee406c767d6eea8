package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestOnlyTheAPIServerMayCall is R10: scaleguard started with
// --client-ca-file answers the API server, which presents the client
// certificate its AdmissionConfiguration names for scaleguard's host, and
// refuses in the TLS handshake a caller without a certificate or with one
// another CA signed. Replacing the CA file applies to the next handshake
// without a restart.
//
// It runs its own control plane: kube-apiserver reads its admission
// configuration only at start.
func TestOnlyTheAPIServerMayCall(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clientCA, err := harness.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	apiserverCert, apiserverKey, err := clientCA.IssueClient("kube-apiserver-webhook-client")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := harness.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", ports[0])
	// The kubeconfig names its user after the host:port the API server
	// calls, the most specific of the names upstream's
	// AuthenticationInfoResolver looks up.
	kubeconfig := filepath.Join(dir, "webhook-kubeconfig.yaml")
	writeFile(t, kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
users:
- name: %q
  user:
    client-certificate-data: %s
    client-key-data: %s
`, host, base64.StdEncoding.EncodeToString(apiserverCert), base64.StdEncoding.EncodeToString(apiserverKey)))
	admission := filepath.Join(dir, "admission.yaml")
	var plugins strings.Builder
	for _, p := range []string{"ValidatingAdmissionWebhook", "MutatingAdmissionWebhook"} {
		fmt.Fprintf(&plugins, `- name: %s
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: %q
`, p, kubeconfig)
	}
	writeFile(t, admission, "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"+plugins.String())
	bed := testbed.Start(t, testbed.Options{APIServerFlags: map[string][]string{"admission-control-config-file": {admission}}})

	caFile := filepath.Join(dir, "client-ca.crt")
	writeFile(t, caFile, string(clientCA.PEM))
	sg, webhooks := harness.StartStandard(t, env.bin, harness.Options{Port: ports[0], Args: []string{"--client-ca-file", caFile}})
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	ns := "client-auth"
	if _, err := bed.Kubectl(ctx, "create", "namespace", ns); err != nil {
		t.Fatal(err)
	}

	// The API server's calls are answered: a Deployment without requests is
	// refused with scaleguard's own message, which only a review it
	// answered can carry.
	if err := harness.WaitForWebhook(ctx, bed.Client, ns, 30*time.Second); err != nil {
		t.Fatalf("the API server, presenting its client certificate, is not answered: %v\n%s", err, tail(sg.LogPath()))
	}
	reviews := func() float64 {
		v, err := sg.MetricSum(ctx, "scaleguard_admission_reviews_total")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := reviews()
	err = bed.Client.Create(ctx, harness.Deployment(ns, "no-requests", false))
	if err == nil || !strings.Contains(err.Error(), "requests-required") {
		t.Fatalf("a Deployment without requests: want scaleguard's refusal, got %v", err)
	}
	if reviews() <= before {
		t.Fatal("the refusal did not come from a review scaleguard answered")
	}

	// Anyone else is refused in the handshake, before any review is read.
	post := func(cert tls.Certificate) error {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(sg.CABundle)
		cfg := &tls.Config{RootCAs: roots}
		if cert.Certificate != nil {
			cfg.Certificates = []tls.Certificate{cert}
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		resp, err := c.Post(sg.URL()+"/validate/workload", "application/json", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	otherCA, err := harness.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	strangerCert, strangerKey, err := otherCA.IssueClient("kube-apiserver-webhook-client")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tls.X509KeyPair(strangerCert, strangerKey)
	if err != nil {
		t.Fatal(err)
	}
	apiserver, err := tls.X509KeyPair(apiserverCert, apiserverKey)
	if err != nil {
		t.Fatal(err)
	}
	before = reviews()
	if err := post(tls.Certificate{}); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("a caller without a client certificate: want a handshake refusal (certificate required), got %v", err)
	}
	if err := post(stranger); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("a caller with a certificate of another CA: want a handshake refusal (unknown certificate authority), got %v", err)
	}
	// The control: the same request with the API server's certificate
	// reaches the handler (and is answered, as a bad review).
	if err := post(apiserver); err != nil {
		t.Errorf("a caller with the API server's certificate: want an answer, got %v", err)
	}
	if got := reviews(); got != before {
		t.Errorf("scaleguard_admission_reviews_total moved by %v for the refused callers and the bad review: nothing should have been judged", got-before)
	}

	// A rotated CA applies to the next handshake without a restart: the
	// stranger's CA replaces the API server's, and a new connection with the
	// API server's certificate is refused while the stranger's is answered.
	// (Connections already open keep the verdict of their handshake.)
	if err := harness.ReplaceFile(caFile, otherCA.PEM); err != nil {
		t.Fatal(err)
	}
	if err := post(apiserver); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("after the CA changed, the API server's old certificate: want a handshake refusal, got %v", err)
	}
	if err := post(stranger); err != nil {
		t.Errorf("after the CA changed, a caller with its certificate: want an answer, got %v", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tail is the end of a log file, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}
