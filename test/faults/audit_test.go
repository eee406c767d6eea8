package faults

import (
	"context"
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
	sum, err := sg.MetricSum(ctx, "scaleguard_audit_violations",
		`rule="`+policies.RequestsRequired+`"`, `namespace="`+ns+`"`, `kind="`+policies.KindDeployment+`"`)
	if err != nil {
		t.Fatal(err)
	}
	reported := int(sum)
	t.Logf("failurePolicy Ignore: the audit after the loop reports %d Deployments of %s breaking %s; %d violating ones were stored",
		reported, ns, policies.RequestsRequired, storedViolating)
	if reported != storedViolating {
		t.Errorf("the audit reports %d violating Deployments, %d were stored", reported, storedViolating)
	}
}
