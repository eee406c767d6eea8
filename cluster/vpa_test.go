package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

// vpaDiscovery answers for autoscaling.k8s.io/v1 as a cluster with or
// without the VPA's CRD does.
type vpaDiscovery struct{ served bool }

func (d vpaDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	if !d.served {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	return &metav1.APIResourceList{GroupVersion: gv, APIResources: []metav1.APIResource{
		{Name: vpas, Kind: policies.KindVPA}, {Name: vpas + "/status", Kind: policies.KindVPA},
	}}, nil
}

type failingDiscovery struct{}

func (failingDiscovery) ServerResourcesForGroupVersion(string) (*metav1.APIResourceList, error) {
	return nil, errors.New("connection refused")
}

func storedVPA(name, target string, extra map[string]any) *unstructured.Unstructured {
	spec := map[string]any{"targetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
	for k, v := range extra {
		spec[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1", "kind": policies.KindVPA,
		"metadata": map[string]any{"name": name, "namespace": "shop", "uid": "u-" + name, "resourceVersion": "7",
			"labels": map[string]any{"app": "web"}, "annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
		"spec":   spec,
		"status": map[string]any{"recommendation": map[string]any{"containerRecommendations": []any{map[string]any{"containerName": "app"}}}},
	}}
}

func TestVPAWatch(t *testing.T) {
	scheme := runtime.NewScheme()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{vpaGVR: "VerticalPodAutoscalerList"},
		storedVPA("web-vpa", "web", map[string]any{"updatePolicy": map[string]any{"updateMode": "Off"},
			"resourcePolicy": map[string]any{"containerPolicies": []any{map[string]any{"containerName": "app", "controlledResources": []any{"cpu"}, "minAllowed": map[string]any{"cpu": "1"}}}}}),
		storedVPA("api-vpa", "api", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	w := newVPAWatch(dyn, failingDiscovery{}, time.Hour, logr.Discard())
	if _, err := w.vpasFor("shop", "Deployment", "web"); !errors.Is(err, policies.ErrUnknown) {
		t.Fatalf("before discovery answered: %v, want ErrUnknown", err)
	}
	w.check(ctx)
	if _, err := w.vpasFor("shop", "Deployment", "web"); !errors.Is(err, policies.ErrUnknown) {
		t.Fatalf("after a failed discovery: %v, want ErrUnknown", err)
	}

	w.discovery = vpaDiscovery{served: false}
	w.check(ctx)
	if got, err := w.vpasFor("shop", "Deployment", "web"); err != nil || got != nil {
		t.Fatalf("CRD not served: %v, %v; want no VPAs", got, err)
	}

	// The CRD is installed: the next check starts the informer.
	w.discovery = vpaDiscovery{served: true}
	w.check(ctx)
	deadline := time.Now().Add(5 * time.Second)
	var got []*policies.VPA
	var err error
	for {
		got, err = w.vpasFor("shop", "Deployment", "web")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || len(got) != 1 {
		t.Fatalf("CRD served: %v, %v; want web-vpa", got, err)
	}
	v := got[0]
	if v.Name != "web-vpa" || v.UpdateMode() != "Off" || v.Labels != nil || len(v.Annotations) != 0 ||
		!v.Targets("Deployment", "web") || len(v.Spec.ResourcePolicy.ContainerPolicies) != 1 {
		t.Errorf("kept %+v", v)
	}
	if other, _ := w.vpasFor("shop", "Deployment", "nothing"); len(other) != 0 {
		t.Errorf("VPAs of a target nobody names: %v", other)
	}

	// The CRD is deleted: back to no VPAs.
	w.discovery = vpaDiscovery{served: false}
	w.check(ctx)
	if got, err := w.vpasFor("shop", "Deployment", "web"); err != nil || got != nil {
		t.Errorf("CRD removed: %v, %v; want no VPAs", got, err)
	}
}

func TestTransformVPAKeepsWhatTheRuleReads(t *testing.T) {
	out, err := transformVPA(storedVPA("web-vpa", "web", map[string]any{"updatePolicy": map[string]any{"updateMode": "Initial", "minReplicas": int64(2)}}))
	if err != nil {
		t.Fatal(err)
	}
	v := out.(*policies.VPA)
	if v.UID != "u-web-vpa" || v.ResourceVersion != "7" || v.UpdateMode() != "Initial" || v.Spec.TargetRef.Name != "web" {
		t.Errorf("kept %+v", v)
	}
	if again, _ := transformVPA(v); again != v {
		t.Error("not idempotent")
	}
	odd, err := transformVPA(storedVPA("odd", "web", map[string]any{"updatePolicy": "Auto"}))
	if err != nil || odd.(*policies.VPA).Spec.TargetRef != nil {
		t.Errorf("an unreadable VPA: %+v, %v; want one that targets nothing", odd, err)
	}
}

// While the watch of a served custom resource is interrupted (an API
// server restarting), its lookups answer ErrUnknown, as the fixed
// informers' do, and they answer again once the watch is back.
func TestVPAWatchInterrupted(t *testing.T) {
	scheme := runtime.NewScheme()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{vpaGVR: "VerticalPodAutoscalerList"},
		storedVPA("web-vpa", "web", nil))
	down := failWatches(dyn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newVPAWatch(dyn, vpaDiscovery{served: true}, time.Hour, logr.Discard())
	w.check(ctx)

	// Listed, so synced, but its watch fails.
	harness.Eventually(t, 5*time.Second, "the VPA watch marked interrupted", func() error {
		_, err := w.vpasFor("shop", "Deployment", "web")
		if err == nil || !errors.Is(err, policies.ErrUnknown) || !strings.Contains(err.Error(), "interrupted") {
			return fmt.Errorf("lookup answered %v, want ErrUnknown saying the watch is interrupted", err)
		}
		return nil
	})
	down.Store(false)
	harness.Eventually(t, 10*time.Second, "the VPA watch current again", func() error {
		got, err := w.vpasFor("shop", "Deployment", "web")
		if err != nil || len(got) != 1 {
			return fmt.Errorf("lookup answered %v, %v; want web-vpa", got, err)
		}
		return nil
	})
}
