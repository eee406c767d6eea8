package audit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scaleguard/scaleguard/policies"
)

// syncingView is a cluster view that is not synced until told.
type syncingView struct {
	*policies.StaticCluster
	synced atomic.Bool
}

func (v *syncingView) Synced() bool { return v.synced.Load() }

// The first scan waits for the cluster view: judged without it, every
// cross-object rule would come back unchecked.
func TestStartWaitsForTheClusterView(t *testing.T) {
	d := deployment("shop", "web", noRequests)
	// The audit lists namespace by namespace, as the API server holds them.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(ns, &d).Build()
	view := &syncingView{StaticCluster: policies.NewStaticCluster()}
	reg := prometheus.NewRegistry()
	a, err := New(Options{Reader: c, Client: c, Cluster: view, Settings: newSettingsBox(nil), Registerer: reg, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Start = %v, want nil", err)
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	if ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil); ts != 0 {
		t.Fatal("scanned before the cluster view synced")
	}
	view.synced.Store(true)
	eventually(t, 5*time.Second, "a scan once the view has synced", func() bool {
		n, _ := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny))
		return n == 1
	})
}

func TestNewNamesMissingOptions(t *testing.T) {
	_, err := New(Options{})
	if err == nil || err.Error() != "audit: options [Reader Client Settings Registerer] are required" {
		t.Errorf("New(Options{}) = %v", err)
	}
}
