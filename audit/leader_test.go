package audit

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
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
	name   string
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	// stopped is set once the manager has returned.
	stopped bool
}

// stop ends the replica, as a rolling update does, and waits for its
// manager to return (releasing the lease if it holds it).
func (r *replica) stop(t *testing.T) {
	t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("replica %s: %v", r.name, err)
	}
}

func (r *replica) scanned(t *testing.T) bool {
	ts, _ := gauge(t, r.reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
	return ts > 0
}

// bubbleConfig is cfg for clients inside a synctest bubble whose clock
// started at now, real time. HTTP/1.1 with a connection per request: time
// advances in a bubble only while each of its goroutines is blocked on
// something of the bubble's, and a kept-alive connection's reader waits on
// the network for good. The API server's certificate is checked against
// the real time the bubble's clock stands for, not the year 2000 it shows.
func bubbleConfig(t *testing.T, cfg *rest.Config, now time.Time) *rest.Config {
	t.Helper()
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	offset := time.Until(now)
	tlsConfig.Time = func() time.Time { return time.Now().Add(offset) }
	out := rest.CopyConfig(cfg)
	out.TLSClientConfig = rest.TLSClientConfig{}
	out.Transport = &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}
	return out
}

// TestOnlyTheLeaderAudits runs two managers against one API server: only
// the one holding the lease scans, and the other takes over when it stops.
// The managers run in a synctest bubble, so that "the second replica never
// scanned" is checked after exactly the time said, every lease renewal and
// audit poll of that time done.
func TestOnlyTheLeaderAudits(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	// The managers' caches and leader election log through
	// controller-runtime's global logger, also after the test ends.
	ctrllog.SetLogger(logr.Discard())
	create(t, bed.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	d := deployment("shop", "web", noRequests)
	d.UID = ""
	create(t, bed.Client, &d)

	now := time.Now()
	synctest.Test(t, func(t *testing.T) {
		cfg := bubbleConfig(t, bed.Config, now)
		settings := newSettingsBox(func(s *policies.Settings) { s.Audit.PolicyReports = false })
		start := func(name string) *replica {
			t.Helper()
			mgr, err := manager.New(cfg, manager.Options{
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
			r := &replica{name: name, reg: prometheus.NewRegistry(), done: make(chan error, 1)}
			if _, err := SetupWithManager(mgr, Options{Settings: settings, Registerer: r.reg}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			r.cancel = cancel
			go func() { r.done <- mgr.Start(ctx) }()
			// The bubble ends once its goroutines have: a replica still
			// running after a failure would keep it going.
			t.Cleanup(func() { r.stop(t) })
			return r
		}

		first := start("first")
		eventually(t, 30*time.Second, "the first replica leads and scans", func() bool { return first.scanned(t) })
		if n, _ := gauge(t, first.reg, "scaleguard_audit_violations",
			violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); n != 1 {
			t.Errorf("leader's violations gauge = %g, want 1", n)
		}

		second := start("second")
		// Four audit intervals (1 s) and eight lease retries (0.5 s).
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if second.scanned(t) {
			t.Fatal("the second replica scanned while the first held the lease")
		}
		if _, ok := gauge(t, second.reg, "scaleguard_audit_violations",
			violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); ok {
			t.Error("a replica that is not the leader exports violation series")
		}

		// The leader stops (a rolling update) and releases the lease.
		first.stop(t)
		eventually(t, 30*time.Second, "the second replica takes over and scans", func() bool { return second.scanned(t) })
	})
}
