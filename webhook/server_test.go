package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

// testServer is a Server running on loopback ports with a test CA.
type testServer struct {
	*Server
	ca                   *testCA
	certDir              string
	webhookAddr          string
	metricsAddr          string
	probeURL, metricsURL string
	cancel               context.CancelFunc
	done                 chan error
	client               *http.Client
	initialSerial        *big.Int
}

// startServer writes a serving certificate, starts a Server and waits until
// /readyz says it serves. certs writes the first certificate into the
// directory, in place or as a projected volume.
func startServer(t *testing.T, o Options, certs func(t *testing.T, dir string, cert, key []byte)) *testServer {
	t.Helper()
	ca := newTestCA(t)
	dir := t.TempDir()
	cert, key, serial := ca.servingPair(t)
	if certs == nil {
		certs = writeInPlace
	}
	certs(t, dir, cert, key)

	// Ports are picked free and then bound by the server: a process of
	// another test package may take one in between, so a server that
	// cannot bind is started again on new ones.
	for attempt := 1; ; attempt++ {
		ts, err := tryStartServer(t, o, ca, dir, serial)
		if err == nil {
			return ts
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 3 {
			t.Fatalf("server stopped: %v", err)
		}
		t.Logf("attempt %d: %v; again on other ports", attempt, err)
	}
}

// tryStartServer starts a Server on free ports and waits until /readyz
// says it serves; the error is Start's when it stops before that.
func tryStartServer(t *testing.T, o Options, ca *testCA, dir string, serial *big.Int) (*testServer, error) {
	t.Helper()
	ports := freePorts(t, 3)
	o.Host = "127.0.0.1"
	o.Port = ports[0]
	o.CertDir = dir
	o.ProbeAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
	o.MetricsAddr = "127.0.0.1:" + strconv.Itoa(ports[2])
	d := policies.Defaults()
	srv, err := NewServer(o, StaticSettings{&d}, NewMetrics(), testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		Server: srv, ca: ca, certDir: dir, initialSerial: serial,
		webhookAddr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		metricsAddr: o.MetricsAddr,
		probeURL:    "http://" + o.ProbeAddr,
		metricsURL:  "http://" + o.MetricsAddr,
		cancel:      cancel,
		done:        make(chan error, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "localhost"},
		}},
	}
	if o.MetricsAuth != nil {
		ts.metricsURL = "https://" + o.MetricsAddr
	}
	go func() { ts.done <- srv.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for ts.get(t, ts.probeURL+"/readyz") != http.StatusOK {
		select {
		case err := <-ts.done:
			cancel()
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("readyz: not ready after 10s")
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})
	return ts, nil
}

func writeInPlace(t *testing.T, dir string, cert, key []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts picks n distinct free ports (harness.FreePorts).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := harness.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

func (ts *testServer) get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// review posts an AdmissionReview and decodes the answer.
func (ts *testServer) review(t *testing.T, path string, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionReview {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: typeMetaReview,
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.client.Post("https://"+ts.webhookAddr+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decodeReview(t, resp, true)
}

var typeMetaReview = metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}

// decodeReview reads an AdmissionReview answer. Only a review that was
// decoded is answered with apiVersion and kind: controller-runtime answers a
// body it could not read with a bare response.
func decodeReview(t *testing.T, resp *http.Response, typed bool) *admissionv1.AdmissionReview {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	out := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("not an AdmissionReview: %v: %s", err, data)
	}
	if out.Response == nil || (typed && (out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview")) {
		t.Fatalf("not an AdmissionReview response: %s", data)
	}
	return out
}

const designCardHPA = `{
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 2, "maxReplicas": 10,
    "metrics": [
      {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
      {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ],
    "behavior": {
      "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
      "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}, {"type": "Pods", "value": 2, "periodSeconds": 30}]}
    }
  }
}`

// defaultedHPA is what the API server hands a mutating webhook when the
// user wrote neither minReplicas nor metrics nor behavior.
const defaultedHPA = `{
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 1, "maxReplicas": 10,
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
  }
}`

const deploymentWithoutRequests = `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {
    "replicas": 1,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{"name": "web", "image": "nginx"}]}
    }
  }
}`

func admissionRequest(uid, group, version, kind, resource, object string) *admissionv1.AdmissionRequest {
	gvk := metav1.GroupVersionKind{Group: group, Version: version, Kind: kind}
	return &admissionv1.AdmissionRequest{
		UID:         types.UID(uid),
		Kind:        gvk,
		RequestKind: &gvk,
		Resource:    metav1.GroupVersionResource{Group: group, Version: version, Resource: resource},
		Namespace:   "shop",
		Name:        "web",
		Operation:   admissionv1.Create,
		Object:      runtime.RawExtension{Raw: []byte(object)},
	}
}

func TestServerAnswersEachPath(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	tests := map[string]struct {
		path    string
		req     *admissionv1.AdmissionRequest
		allowed bool
		patched bool
	}{
		"mutate a defaulted HPA": {
			path:    PathMutateHPA,
			req:     admissionRequest("uid-mutate", "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", defaultedHPA),
			allowed: true,
			patched: true,
		},
		"validate the design card's HPA": {
			path:    PathValidateHPA,
			req:     admissionRequest("uid-validate-hpa", "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", designCardHPA),
			allowed: true,
		},
		"mutate a Deployment (nothing to keep without an HPA)": {
			path:    PathMutateWorkload,
			req:     admissionRequest("uid-mutate-workload", "apps", "v1", "Deployment", "deployments", deploymentWithoutRequests),
			allowed: true,
		},
		"validate a Deployment without requests": {
			path:    PathValidateWorkload,
			req:     admissionRequest("uid-validate-workload", "apps", "v1", "Deployment", "deployments", deploymentWithoutRequests),
			allowed: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := ts.review(t, tc.path, tc.req)
			r := out.Response
			if r.UID != tc.req.UID {
				t.Errorf("response UID %q, want %q", r.UID, tc.req.UID)
			}
			if r.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v (result %+v)", r.Allowed, tc.allowed, r.Result)
			}
			if patched := len(r.Patch) > 0; patched != tc.patched {
				t.Errorf("patched = %v, want %v: %s", patched, tc.patched, r.Patch)
			}
			if tc.patched && (r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch) {
				t.Errorf("patch type %v, want JSONPatch", r.PatchType)
			}
		})
	}

	t.Run("metrics count the reviews", func(t *testing.T) {
		body := ts.scrape(t)
		// /metrics alone: another path on the metrics port is not found.
		if resp, err := http.Get(ts.metricsURL + "/"); err != nil {
			t.Error(err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET / on the metrics port: %d, want 404", resp.StatusCode)
			}
		}
		for _, want := range []string{
			`scaleguard_admission_reviews_total{handler="hpa-mutate",result="patched"} 1`,
			`scaleguard_admission_reviews_total{handler="workload-mutate",result="allowed"} 1`,
			`scaleguard_admission_reviews_total{handler="workload-validate",result="denied"} 1`,
			`controller_runtime_webhook_requests_total{code="200",webhook="/validate/workload"}`,
			`certwatcher_read_certificate_errors_total`,
			`go_goroutines`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// The serving certificate's expiry, read from disk, for the chart's
		// expiry alert: a real timestamp in the future, not NaN.
		m := regexp.MustCompile(`(?m)^scaleguard_serving_certificate_expiry_timestamp_seconds (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics lacks the certificate expiry gauge")
		}
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v < float64(time.Now().Unix()) {
			t.Errorf("certificate expiry = %s, want a future Unix time", m[1])
		}
	})

	t.Run("probes", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/readyz/webhook", "/readyz/settings"} {
			if code := ts.get(t, ts.probeURL+p); code != http.StatusOK {
				t.Errorf("%s: %d", p, code)
			}
		}
	})

	t.Run("not an AdmissionReview", func(t *testing.T) {
		resp, err := ts.client.Post("https://"+ts.webhookAddr+PathValidateHPA, "application/json", strings.NewReader("{"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "cannot decode the AdmissionReview") {
			t.Errorf("want HTTP 400, got %d %q", resp.StatusCode, body)
		}
	})
}

// TestServerProfiles serves Go's profiles only when asked, and never on the
// webhook's TLS port.
func TestServerProfiles(t *testing.T) {
	const index = "Types of profiles available"
	profiles := func(c *http.Client, url string) bool {
		t.Helper()
		resp, err := c.Get(url + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(b), index)
	}
	off := startServer(t, Options{}, nil)
	for _, url := range []string{off.metricsURL, off.probeURL, "https://" + off.webhookAddr} {
		if profiles(off.client, url) {
			t.Errorf("without PprofAddr, %s serves profiles", url)
		}
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startServer(t, Options{PprofAddr: addr}, nil)
	if !profiles(http.DefaultClient, "http://"+addr) {
		t.Errorf("with PprofAddr %s, no profiles there", addr)
	}
}

func TestServerRefusesBodiesOverTheLimit(t *testing.T) {
	ts := startServer(t, Options{}, nil)
	// scaleguard's own limit (maxReviewBytes): a body that is not read is
	// not a review, answered at the HTTP level.
	big := append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","object":{"pad":"`),
		bytes.Repeat([]byte("a"), 7<<20)...)
	resp, err := ts.client.Post("https://"+ts.webhookAddr+PathValidateHPA, "application/json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too large") {
		t.Errorf("want HTTP 413, got %d %q", resp.StatusCode, body)
	}
}

func TestServerTLS(t *testing.T) {
	t.Run("TLS 1.3 only by default, HTTP/1.1 only", func(t *testing.T) {
		ts := startServer(t, Options{}, nil)
		_, err := tls.Dial("tcp", ts.webhookAddr, &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
		if err == nil {
			t.Error("a TLS 1.2 client was accepted with the 1.3 minimum")
		}
		conn, err := tls.Dial("tcp", ts.webhookAddr, &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost", NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		st := conn.ConnectionState()
		if st.Version != tls.VersionTLS13 {
			t.Errorf("version %s", tls.VersionName(st.Version))
		}
		if st.NegotiatedProtocol != "http/1.1" {
			t.Errorf("ALPN negotiated %q, want http/1.1", st.NegotiatedProtocol)
		}
	})
	t.Run("TLS 1.2 and HTTP/2 when asked", func(t *testing.T) {
		ts := startServer(t, Options{TLSMinVersion: tls.VersionTLS12, EnableHTTP2: true}, nil)
		conn, err := tls.Dial("tcp", ts.webhookAddr, &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Errorf("ALPN negotiated %q, want h2", p)
		}
	})
	t.Run("nothing below TLS 1.2", func(t *testing.T) {
		if _, err := NewServer(Options{TLSMinVersion: tls.VersionTLS11}, StaticSettings{}, nil, testr.New(t)); err == nil {
			t.Error("TLS 1.1 accepted")
		}
		for in, want := range map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13, "1.1": 0, "": 0, "TLS13": 0} {
			got, err := ParseTLSVersion(in)
			if got != want || (err == nil) != (want != 0) {
				t.Errorf("ParseTLSVersion(%q) = %v, %v", in, got, err)
			}
		}
	})
}

func TestServerReloadsCertificate(t *testing.T) {
	tests := map[string]func(t *testing.T, dir string, cert, key []byte){
		"files rewritten in place": writeInPlace,
		"Secret volume symlink swap": func() func(t *testing.T, dir string, cert, key []byte) {
			var p *projectedDir
			return func(t *testing.T, dir string, cert, key []byte) {
				if p == nil {
					p = &projectedDir{dir: dir}
				}
				p.write(t, map[string][]byte{"tls.crt": cert, "tls.key": key})
			}
		}(),
	}
	for name, write := range tests {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, Options{}, write)
			if got := ts.servedSerial(t); got.Cmp(ts.initialSerial) != 0 {
				t.Fatalf("serving serial %v, want %v", got, ts.initialSerial)
			}
			cert, key, serial := ts.ca.servingPair(t)
			write(t, ts.certDir, cert, key)
			// certwatcher also polls every 10 s; 5 s proves the watch works.
			eventually(t, 5*time.Second, "new certificate served", func() bool {
				return ts.servedSerial(t).Cmp(serial) == 0
			})
		})
	}
}

func (ts *testServer) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(ts.metricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func (ts *testServer) servedSerial(t *testing.T) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", ts.webhookAddr, &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestServerDrainsOnShutdown cancels the context while a review is half
// sent: /readyz must fail at once, and the review must still be answered.
func TestServerDrainsOnShutdown(t *testing.T) {
	ts := startServer(t, Options{}, nil)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: typeMetaReview,
		Request:  admissionRequest("uid-drain", "apps", "v1", "Deployment", "deployments", deploymentWithoutRequests),
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ts.webhookAddr, &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", PathValidateWorkload, len(body))
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	// The handler is running (reading the body) once controller-runtime
	// counts the request in flight.
	inFlight := fmt.Sprintf("controller_runtime_webhook_requests_in_flight{webhook=%q} 1", PathValidateWorkload)
	eventually(t, 5*time.Second, "request in flight", func() bool {
		return strings.Contains(ts.scrape(t), inFlight)
	})

	ts.cancel()
	eventually(t, 5*time.Second, "/readyz fails during shutdown", func() bool {
		return ts.get(t, ts.probeURL+"/readyz") == http.StatusInternalServerError
	})
	select {
	case err := <-ts.done:
		t.Fatalf("server stopped with a request in flight: %v", err)
	default:
	}

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out := decodeReview(t, resp, true); out.Response.UID != "uid-drain" {
		t.Errorf("UID %q", out.Response.UID)
	}
	// The API server reuses keep-alive connections: the last answer must
	// say the connection ends, and the server must end it.
	if !resp.Close {
		t.Errorf("the answer during shutdown lacks Connection: close (headers %v)", resp.Header)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection still open 5 s after the answer during shutdown (read %d bytes, %v)", n, err)
	}
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after the last request")
	}
}

// TestServerAnswersThroughShutdownDelay cancels the context of a server
// with a shutdown delay: /readyz must fail at once while new reviews are
// still answered (the API server sends them until the endpoint is gone),
// and the server must stop once the delay is over.
func TestServerAnswersThroughShutdownDelay(t *testing.T) {
	const delay = 2 * time.Second
	ts := startServer(t, Options{ShutdownDelay: delay}, nil)
	ts.cancel()
	start := time.Now()
	eventually(t, time.Second, "/readyz fails at once", func() bool {
		return ts.get(t, ts.probeURL+"/readyz") == http.StatusInternalServerError
	})
	for i := 0; time.Since(start) < delay/2; i++ {
		uid := fmt.Sprintf("uid-delay-%d", i)
		if out := ts.review(t, PathValidateWorkload, admissionRequest(uid, "apps", "v1", "Deployment", "deployments", deploymentWithoutRequests)); out.Response.UID != types.UID(uid) {
			t.Fatalf("review during the shutdown delay: UID %q", out.Response.UID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-ts.done:
		if took := time.Since(start); took < delay {
			t.Errorf("server stopped %s after the cancel, before the %s delay", took, delay)
		}
		ts.done <- err // for the cleanup
	case <-time.After(delay + 10*time.Second):
		t.Fatal("server still running 10 s after the shutdown delay")
	}
}
