package audit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scaleguard/scaleguard/policies"
)

// startAuditor runs an Auditor of src with settings in the bubble; stop
// ends it and checks that Start returned nil.
func startAuditor(t *testing.T, src Source, settings *settingsBox) (reg *prometheus.Registry, stop func()) {
	t.Helper()
	reg = prometheus.NewRegistry()
	a, err := New(Options{Source: src, Client: fake.NewClientBuilder().Build(), Settings: settings, Registerer: reg, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	return reg, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start = %v, want nil", err)
		}
	}
}

// The first scan waits for the source to be synced, and follows it within
// a second. Time is the bubble's: a minute unsynced passes at once, and
// each check is made once every goroutine has done what it can.
func TestStartWaitsForTheSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		objs := Objects{Workloads: workloads(deployment("shop", "web", noRequests))}
		src := &memSource{
			namespaces: []corev1.Namespace{namespace("shop")},
			objs:       map[string]Objects{"shop": objs},
			cluster:    Snapshot(objs),
		}
		reg, stop := startAuditor(t, src, newSettingsBox(nil))
		start := time.Now()

		time.Sleep(time.Minute)
		synctest.Wait()
		if ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil); ts != 0 {
			t.Fatalf("scanned (last at %s) before the source was synced", time.Unix(int64(ts), 0).Sub(start))
		}

		src.synced.Store(true)
		time.Sleep(time.Second)
		synctest.Wait()
		ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
		if at := time.Unix(int64(ts), 0).Sub(start); ts == 0 || at < time.Minute || at > time.Minute+time.Second {
			t.Fatalf("last scan timestamp %g, want a scan within a second of the sync at %s", ts, time.Minute)
		}
		if n, _ := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); n != 1 {
			t.Errorf("violations once synced = %g, want 1", n)
		}

		stop()
	})
}

func TestNewNamesMissingOptions(t *testing.T) {
	_, err := New(Options{})
	if err == nil || err.Error() != "audit: options [Source Client Settings Registerer] are required" {
		t.Errorf("New(Options{}) = %v", err)
	}
}

// notReadySource fails its first reads of workloads, as the view does for
// a custom kind it is not watching yet, or of ScaledObjects, as it does
// before discovery has answered.
type notReadySource struct {
	*memSource
	scaledObjects bool // fail the ScaledObjects, not the workloads
	notReady      atomic.Int32
}

func (s *notReadySource) Workloads(ctx context.Context, ns string, kinds []policies.WorkloadKind) ([]Workload, error) {
	if !s.scaledObjects && s.notReady.Add(-1) >= 0 {
		return nil, fmt.Errorf("argoproj.io/v1alpha1 rollouts not watched yet: %w", policies.ErrUnknown)
	}
	return s.memSource.Workloads(ctx, ns, kinds)
}

func (s *notReadySource) ScaledObjects(ctx context.Context, ns string) ([]*policies.ScaledObject, error) {
	if s.scaledObjects && s.notReady.Add(-1) >= 0 {
		return nil, fmt.Errorf("discovery of scaledobjects not answered yet: %w", policies.ErrUnknown)
	}
	return s.memSource.ScaledObjects(ctx, ns)
}

// A scan that finds a part of the view not ready is tried again after
// notReadyRetry, then after twice that, and so on, not at the next interval
// (five minutes here). ScaledObjects the view cannot answer for are left
// out of the scan instead: the rest is judged at once.
func TestStartRetriesSoonWhenTheViewIsNotReady(t *testing.T) {
	for name, tc := range map[string]struct {
		scaledObjects bool
		// scanAt is when the first complete scan is published.
		scanAt time.Duration
	}{
		// Scans fail at 0, 5 and 15 s; the one at 35 s completes.
		"a custom kind": {false, notReadyRetry + 2*notReadyRetry + 4*notReadyRetry},
		"ScaledObjects": {true, 0},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				objs := Objects{Workloads: workloads(deployment("shop", "web", noRequests))}
				src := &notReadySource{scaledObjects: tc.scaledObjects, memSource: &memSource{
					namespaces: []corev1.Namespace{namespace("shop")},
					objs:       map[string]Objects{"shop": objs},
					cluster:    Snapshot(objs),
				}}
				src.synced.Store(true)
				src.notReady.Store(3)
				reg, stop := startAuditor(t, src, newSettingsBox(func(s *policies.Settings) { s.Audit.IntervalSeconds = 300 }))
				defer stop()
				start := time.Now()

				time.Sleep(tc.scanAt + time.Second)
				synctest.Wait()
				ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
				if at := time.Unix(int64(ts), 0).Sub(start); ts == 0 || at != tc.scanAt {
					t.Fatalf("last scan timestamp %g (%s after the start), want a scan at %s", ts, at, tc.scanAt)
				}
				if n, _ := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny)); n != 1 {
					t.Errorf("violations = %g, want 1", n)
				}
			})
		})
	}
}
