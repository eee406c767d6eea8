package audit

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// replica is one scaleguard process: a manager with leader election and
// the Auditor added the way `scaleguard serve` adds it.
type replica struct {
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan error
}

func (r *replica) scanned(t *testing.T) bool {
	ts, _ := gauge(t, r.reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
	return ts > 0
}

// TestOnlyTheLeaderAudits runs two managers against one API server: only
// the one holding the lease scans, and the other takes over when it stops.
func TestOnlyTheLeaderAudits(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	// The managers' caches and leader election log through
	// controller-runtime's global logger, also after the test ends.
	ctrllog.SetLogger(logr.Discard())
	create(t, bed.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	d := deployment("shop", "web", noRequests)
	d.UID = ""
	create(t, bed.Client, &d)

	settings := newSettingsBox(func(s *policies.Settings) { s.Audit.PolicyReports = false })
	start := func(name string) *replica {
		t.Helper()
		mgr, err := manager.New(bed.Config, manager.Options{
			Scheme:                        scheme.Scheme,
			Logger:                        logr.Discard(),
			Metrics:                       metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress:        "0",
			LeaderElection:                true,
			LeaderElectionID:              "scaleguard-audit-test",
			LeaderElectionNamespace:       "default",
			LeaderElectionReleaseOnCancel: true,
			LeaseDuration:                 ptr.To(4 * time.Second),
			RenewDeadline:                 ptr.To(3 * time.Second),
			RetryPeriod:                   ptr.To(500 * time.Millisecond),
		})
		if err != nil {
			t.Fatal(err)
		}
		r := &replica{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
		if _, err := SetupWithManager(mgr, Options{Settings: settings, Registerer: r.reg}); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		r.stop = stop
		go func() { r.done <- mgr.Start(ctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-r.done; err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
		})
		return r
	}

	first := start("first")
	eventually(t, 30*time.Second, "the first replica leads and scans", func() bool { return first.scanned(t) })
	if n, _ := gauge(t, first.reg, "scaleguard_audit_violations",
		violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); n != 1 {
		t.Errorf("leader's violations gauge = %g, want 1", n)
	}

	second := start("second")
	// Several audit intervals (1 s) and lease retries (0.5 s) pass.
	time.Sleep(4 * time.Second)
	if second.scanned(t) {
		t.Fatal("the second replica scanned while the first held the lease")
	}
	if _, ok := gauge(t, second.reg, "scaleguard_audit_violations",
		violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); ok {
		t.Error("a replica that is not the leader exports violation series")
	}

	// The leader stops (a rolling update) and releases the lease.
	first.stop()
	if err := <-first.done; err != nil {
		t.Fatalf("first replica: %v", err)
	}
	first.done <- nil // for its cleanup
	eventually(t, 30*time.Second, "the second replica takes over and scans", func() bool { return second.scanned(t) })
}
