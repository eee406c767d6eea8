package audit

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaleguard/scaleguard/policies"
)

func TestMetricsFollowTheScans(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	objs := Objects{Workloads: workloads(deployment("shop", "api", noRequests), deployment("blog", "api", noRequests))}
	m.publish(Scan(objs, nil, &s), time.Unix(1767225600, 0), 250*time.Millisecond)
	shop := violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)
	blog := violationLabels(policies.RequestsRequired, "blog", policies.KindDeployment, policies.Deny)
	for _, l := range []map[string]string{shop, blog} {
		if n, _ := gauge(t, reg, "scaleguard_audit_violations", l); n != 1 {
			t.Errorf("%v = %g, want 1", l, n)
		}
	}
	if d, _ := gauge(t, reg, "scaleguard_audit_scan_duration_seconds", nil); d != 0.25 {
		t.Errorf("duration = %g, want 0.25", d)
	}
	if ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil); ts != 1767225600 {
		t.Errorf("last scan = %g, want 1767225600", ts)
	}

	objs.Workloads[0] = workloads(deployment("shop", "api"))[0]
	m.publish(Scan(objs, nil, &s), time.Unix(1767225900, 0), time.Second)
	if _, ok := gauge(t, reg, "scaleguard_audit_violations", shop); ok {
		t.Error("shop's series should be gone once its Deployment is fixed")
	}
	if n, _ := gauge(t, reg, "scaleguard_audit_violations", blog); n != 1 {
		t.Errorf("blog = %g, want 1", n)
	}

	m.clear()
	if _, ok := gauge(t, reg, "scaleguard_audit_violations", blog); ok {
		t.Error("clear leaves no violation series")
	}
	if _, err := newMetrics(reg); err == nil {
		t.Error("registering the gauges twice in one registry should fail")
	}
}
