package webhook

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"k8s.io/client-go/rest"

	"github.com/scaleguard/scaleguard/policies"
)

// TestSecureMetrics covers what the metrics port does with MetricsAuth
// without an API server to ask: it speaks only TLS, with the webhook's
// certificate and its renewals, and refuses a scrape without a token, or
// one it cannot check, before any series is written. The answers of a real
// API server (401 for a forged token, 403 without the permission, 200 with
// it) are checked in test/chart, TestSecureMetricsThroughTheAPIServer, and
// the filter's own in internal/metricsauth.
func TestSecureMetrics(t *testing.T) {
	// Port 1 on loopback refuses connections: no TokenReview can succeed.
	ts := startServer(t, Options{MetricsAuth: &rest.Config{Host: "https://127.0.0.1:1"}}, nil)
	tlsConfig := &tls.Config{RootCAs: ts.ca.pool, ServerName: "localhost"}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	get := func(t *testing.T, c *http.Client, url, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	servedSerial := func(t *testing.T) string {
		t.Helper()
		conn, err := tls.Dial("tcp", ts.metricsAddr, tlsConfig)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}

	t.Run("the webhook's certificate and TLS settings", func(t *testing.T) {
		if got := servedSerial(t); got != ts.initialSerial.String() {
			t.Errorf("metrics port serves serial %s, want the webhook's %s", got, ts.initialSerial)
		}
		// HTTP/2 is off by default: a client offering h2 gets HTTP/1.1.
		h2 := tlsConfig.Clone()
		h2.NextProtos = []string{"h2", "http/1.1"}
		if conn, err := tls.Dial("tcp", ts.metricsAddr, h2); err != nil {
			t.Error(err)
		} else {
			if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
				t.Errorf("metrics port agreed on %q with HTTP/2 off", p)
			}
			conn.Close()
		}
		old := tlsConfig.Clone()
		old.MaxVersion = tls.VersionTLS12
		if conn, err := tls.Dial("tcp", ts.metricsAddr, old); err == nil {
			conn.Close()
			t.Error("a TLS 1.2 client was accepted with the 1.3 minimum")
		}
	})
	t.Run("no token: 401", func(t *testing.T) {
		code, body := get(t, client, ts.metricsURL+"/metrics", "")
		if code != http.StatusUnauthorized || strings.Contains(body, "scaleguard_") {
			t.Errorf("got %d: %s", code, body)
		}
	})
	t.Run("plain HTTP is not served", func(t *testing.T) {
		code, body := get(t, http.DefaultClient, "http://"+ts.metricsAddr+"/metrics", "")
		if code != http.StatusBadRequest || strings.Contains(body, "scaleguard_") {
			t.Errorf("plain HTTP to the metrics port: got %d: %s", code, body)
		}
	})
	t.Run("a token the API server cannot check: 500, no series", func(t *testing.T) {
		code, body := get(t, client, ts.metricsURL+"/metrics", "some-token")
		if code != http.StatusInternalServerError || strings.Contains(body, "scaleguard_") {
			t.Errorf("got %d: %s", code, body)
		}
	})
	t.Run("the probes stay plain HTTP", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if code := ts.get(t, ts.probeURL+path); code != http.StatusOK {
				t.Errorf("%s: %d", path, code)
			}
		}
	})
	t.Run("a renewed certificate is served", func(t *testing.T) {
		cert, key, serial := ts.ca.servingPair(t)
		writeInPlace(t, ts.certDir, cert, key)
		// certwatcher also polls every 10 s; 5 s proves the watch works.
		eventually(t, 5*time.Second, "renewed certificate on the metrics port", func() bool {
			return servedSerial(t) == serial.String()
		})
	})
}

// TestSecureMetricsNeedsAUsableAPIServer: a MetricsAuth no client can be
// built from fails NewServer, rather than a scrape later.
func TestSecureMetricsNeedsAUsableAPIServer(t *testing.T) {
	d := policies.Defaults()
	bad := &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAFile: t.TempDir() + "/missing-ca.crt"}}
	_, err := NewServer(Options{MetricsAuth: bad}, StaticSettings{&d}, nil, testr.New(t))
	if err == nil || !strings.Contains(err.Error(), "metrics authentication") || !strings.Contains(err.Error(), "missing-ca.crt") {
		t.Errorf("NewServer with an unreadable CA file for the API server: got %v", err)
	}
}
