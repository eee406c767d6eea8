package main

import (
	"path/filepath"
	"testing"
)

// TestServeMetricsSecureFlags covers the refusals of --metrics-secure that
// come before anything listens; what it serves is tested in webhook
// (TestSecureMetrics) and through a real API server in test/chart.
func TestServeMetricsSecureFlags(t *testing.T) {
	runCases(t, "serve", map[string]cliCase{
		"no metrics port to secure": {
			args:   []string{"--metrics-secure", "--metrics-addr=0"},
			code:   exitUsage,
			stderr: []string{"--metrics-secure with --metrics-addr=0: there is no metrics port to secure"},
		},
		// Without the cluster view, the reviews still need an API server.
		"no API server to ask": {
			args:   []string{"--metrics-secure", "--cluster-view=false", "--kubeconfig", filepath.Join(t.TempDir(), "missing.kubeconfig"), "--probe-addr=0", "--metrics-addr=127.0.0.1:0"},
			code:   exitFailure,
			stderr: []string{"no API server to connect to", "missing.kubeconfig", "so does --metrics-secure"},
		},
	})
}
