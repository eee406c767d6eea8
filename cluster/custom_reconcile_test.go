package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

// The custom informers follow the settings: a listed kind whose CRD is
// absent answers "not served" and is looked for again only after
// customRediscovery; once served it is watched, and a stored object is
// found; unlisted, it is no longer watched. The audit reads the same
// informers, an object the rules cannot read included.
func TestCustomWorkloadsFollowTheSettings(t *testing.T) {
	// The fake dynamic client cannot stream a watch list (no initial
	// events end bookmark): list, then watch, as against older servers.
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	disco := &fakeDiscovery{lists: map[string]*metav1.APIResourceList{}}
	rollout := unstructuredOf(t, storedRollout)
	rollout.SetManagedFields(nil)
	unreadable := unstructuredOf(t, strings.Replace(storedRollout, "replicas: 4", "replicas: four", 1))
	unreadable.SetName("bad")
	unreadable.SetManagedFields(nil)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{rolloutKind.GroupVersionResource(): "RolloutList"}, rollout, unreadable)
	listed := []policies.WorkloadKind{rolloutKind}
	c := &customWorkloads{dyn: dyn, discover: newScaleDiscoveryWith(disco, time.Minute), listed: func() []policies.WorkloadKind { return listed },
		direct: &directWorkloads{calls: &liveCalls{now: time.Now}, lookups: newDirectLookups()}, log: logr.Discard(), byKind: map[string]*customInformer{}}

	if _, err := c.workload("shop", "CloneSet", "web"); err == nil || !strings.Contains(err.Error(), "not CloneSet") {
		t.Errorf("an unlisted kind: %v", err)
	}
	src := auditSource{&View{custom: c}}
	if ws, err := src.customWorkloads(rolloutKind, "shop"); !errors.Is(err, policies.ErrUnknown) {
		t.Errorf("the audit, before the view has seen the kind listed: %v, %v; want ErrUnknown", ws, err)
	}
	now := time.Now()
	c.reconcile(ctx, now)
	if ws, err := src.customWorkloads(rolloutKind, "shop"); ws != nil || err != nil {
		t.Errorf("the audit, a kind not served: %v, %v; want none", ws, err)
	}
	_, err := c.workload("shop", "Rollout", "web")
	if err == nil || !strings.Contains(err.Error(), "is not served by the API server: install its CRD") || errors.Is(err, policies.ErrUnknown) {
		t.Errorf("a listed kind whose CRD is absent: %v", err)
	}
	disco.lists["argoproj.io/v1alpha1"] = rollouts(true)
	calls := disco.calls
	c.reconcile(ctx, now.Add(customRediscovery/2))
	if disco.calls != calls {
		t.Errorf("discovery was asked again before customRediscovery")
	}
	c.reconcile(ctx, now.Add(customRediscovery))
	var w *policies.Workload
	deadline := time.Now().Add(10 * time.Second)
	for {
		if w, err = c.workload("shop", "Rollout", "web"); !errors.Is(err, policies.ErrUnknown) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || w == nil || w.Kind != "Rollout" || len(w.Template.Spec.Containers) != 1 {
		t.Fatalf("a served kind: %+v, %v", w, err)
	}
	ws, err := c.workloads("shop")
	if err != nil || len(ws) != 1 {
		t.Errorf("workloads of shop = %d, %v; want the Rollout", len(ws), err)
	}
	aws, err := src.customWorkloads(rolloutKind, "shop")
	if err != nil || len(aws) != 2 {
		t.Fatalf("the audit's Rollouts of shop: %+v, %v; want bad and web", aws, err)
	}
	if bad := aws[0]; bad.Name != "bad" || bad.Namespace != "shop" || bad.Workload.Kind != "Rollout" || bad.Err == nil {
		t.Errorf("the unreadable Rollout: %+v, want its name, kind and reading error", bad)
	}
	if web := aws[1]; web.Name != "web" || web.APIVersion != "argoproj.io/v1alpha1" || web.Err != nil || *web.Workload.Replicas != 4 {
		t.Errorf("the Rollout: %+v", web)
	}
	missing, err := c.workload("shop", "Rollout", "nope")
	if err != nil || missing != nil {
		t.Errorf("a Rollout that does not exist: %+v, %v", missing, err)
	}

	listed = nil
	c.reconcile(ctx, now.Add(2*customRediscovery))
	if _, ok := c.state("Rollout"); ok {
		t.Errorf("an unlisted kind is still watched")
	}
}

// While the watch of a custom workload kind is interrupted, its lookups and
// the audit's reads answer ErrUnknown; once the watch is back, they answer.
func TestCustomWorkloadsWatchInterrupted(t *testing.T) {
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	disco := &fakeDiscovery{lists: map[string]*metav1.APIResourceList{"argoproj.io/v1alpha1": rollouts(true)}}
	rollout := unstructuredOf(t, storedRollout)
	rollout.SetManagedFields(nil)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{rolloutKind.GroupVersionResource(): "RolloutList"}, rollout)
	down := failWatches(dyn)
	c := &customWorkloads{dyn: dyn, discover: newScaleDiscoveryWith(disco, time.Minute),
		listed: func() []policies.WorkloadKind { return []policies.WorkloadKind{rolloutKind} },
		direct: &directWorkloads{calls: &liveCalls{now: time.Now}, lookups: newDirectLookups()}, log: logr.Discard(), byKind: map[string]*customInformer{}}
	src := auditSource{&View{custom: c}}
	c.reconcile(ctx, time.Now())

	interrupted := func(what string, err error) error {
		if !errors.Is(err, policies.ErrUnknown) || !strings.Contains(err.Error(), "interrupted") {
			return fmt.Errorf("%s answered %v, want ErrUnknown saying the watch is interrupted", what, err)
		}
		return nil
	}
	harness.Eventually(t, 5*time.Second, "the Rollout watch marked interrupted", func() error {
		_, err := c.workload("shop", "Rollout", "web")
		if err := interrupted("the lookup", err); err != nil {
			return err
		}
		_, err = src.customWorkloads(rolloutKind, "shop")
		return interrupted("the audit", err)
	})
	down.Store(false)
	harness.Eventually(t, 10*time.Second, "the Rollout watch current again", func() error {
		if w, err := c.workload("shop", "Rollout", "web"); err != nil || w == nil {
			return fmt.Errorf("the lookup answered %v, %v; want the Rollout", w, err)
		}
		if ws, err := src.customWorkloads(rolloutKind, "shop"); err != nil || len(ws) != 1 {
			return fmt.Errorf("the audit answered %v, %v; want the Rollout", ws, err)
		}
		return nil
	})
}
