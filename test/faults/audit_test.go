package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

// checkAudit is R3's second line under failurePolicy Ignore: what was
// stored while scaleguard was down is what its audit reports. scaleguard is
// restarted, so that its start-up scan runs after the last create, and the
// requests-required violations it reports for the Deployments of ns must be
// the stored ones.
func checkAudit(t *testing.T, sg *harness.Scaleguard, ns string, storedViolating int) {
	t.Helper()
	if sg.Kubeconfig == "" {
		t.Logf("no cluster view, no audit: the %d violating Deployments stored are not checked against it", storedViolating)
		return
	}
	ctx := context.Background()
	if err := sg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := sg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sg.WaitMetric(ctx, "scaleguard_audit_last_scan_timestamp_seconds", time.Minute, func(v float64) bool { return v > 0 }); err != nil {
		t.Fatal(err)
	}
	reported, err := auditViolations(ctx, sg, policies.RequestsRequired, ns, policies.KindDeployment)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failurePolicy Ignore: the audit after the loop reports %d Deployments of %s breaking %s; %d violating ones were stored",
		reported, ns, policies.RequestsRequired, storedViolating)
	if reported != storedViolating {
		t.Errorf("the audit reports %d violating Deployments, %d were stored", reported, storedViolating)
	}
}

// auditViolations reads scaleguard_audit_violations for rule, namespace
// and kind from scaleguard's /metrics; no series is 0.
func auditViolations(ctx context.Context, sg *harness.Scaleguard, rule, ns, kind string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+sg.MetricsAddr+"/metrics", nil)
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
	labels := []string{`rule="` + rule + `"`, `namespace="` + ns + `"`, `kind="` + kind + `"`}
	total := 0
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), "} ")
		if !ok || !strings.HasPrefix(series, "scaleguard_audit_violations{") {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(series, l)
		}
		if !matches {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		total += int(v)
	}
	return total, nil
}
