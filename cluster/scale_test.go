package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeDiscovery serves resource lists and counts the calls.
type fakeDiscovery struct {
	lists map[string]*metav1.APIResourceList
	err   error
	calls int
}

func (f *fakeDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	l, ok := f.lists[gv]
	if !ok {
		return nil, errors.New("the server could not find the requested resource")
	}
	return l, nil
}

func rollouts(withScale bool) *metav1.APIResourceList {
	l := &metav1.APIResourceList{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{
		{Name: "rollouts", Kind: "Rollout"}, {Name: "rollouts/status", Kind: "Rollout"},
		{Name: "analysisruns", Kind: "AnalysisRun"},
	}}
	if withScale {
		l.APIResources = append(l.APIResources, metav1.APIResource{Name: "rollouts/scale", Kind: "Scale", Group: "autoscaling", Version: "v1"})
	}
	return l
}

func TestScalable(t *testing.T) {
	f := &fakeDiscovery{lists: map[string]*metav1.APIResourceList{"argoproj.io/v1alpha1": rollouts(true)}}
	d := newScaleDiscoveryWith(f, time.Minute)
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }

	if ok, err := d.scalable("argoproj.io/v1alpha1", "Rollout"); !ok || err != nil {
		t.Errorf("Rollout with a scale subresource: %v, %v", ok, err)
	}
	if ok, err := d.scalable("argoproj.io/v1alpha1", "AnalysisRun"); ok || err != nil {
		t.Errorf("AnalysisRun without one: %v, %v", ok, err)
	}
	if f.calls != 1 {
		t.Errorf("%d discovery calls within the TTL, want 1", f.calls)
	}

	// The CRD drops its scale subresource: seen once the TTL has passed.
	f.lists["argoproj.io/v1alpha1"] = rollouts(false)
	if ok, _ := d.scalable("argoproj.io/v1alpha1", "Rollout"); !ok {
		t.Error("the cached list was not used within the TTL")
	}
	now = now.Add(time.Minute)
	if ok, _ := d.scalable("argoproj.io/v1alpha1", "Rollout"); ok {
		t.Error("the list was not refreshed after the TTL")
	}

	// A kind missing from a cached list is asked for again at once: its
	// CRD may have just been installed.
	calls := f.calls
	_, err := d.scalable("argoproj.io/v1alpha1", "Experiment")
	if err == nil || !strings.Contains(err.Error(), "argoproj.io/v1alpha1 Experiment is not served") {
		t.Errorf("unknown kind: %v", err)
	}
	if f.calls != calls+1 {
		t.Errorf("%d calls for a kind missing from the cached list, want 1", f.calls-calls)
	}

	// Failures are not kept.
	f.err = errors.New("connection refused")
	if _, err := d.scalable("keda.sh/v1alpha1", "ScaledObject"); err == nil {
		t.Error("a failed discovery answered")
	}
	f.err = nil
	f.lists["keda.sh/v1alpha1"] = &metav1.APIResourceList{APIResources: []metav1.APIResource{{Name: "scaledobjects", Kind: "ScaledObject"}}}
	if ok, err := d.scalable("keda.sh/v1alpha1", "ScaledObject"); ok || err != nil {
		t.Errorf("after the failure: %v, %v", ok, err)
	}
}
