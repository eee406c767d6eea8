package cluster

import (
	"context"
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
)

// kedaDiscovery answers for keda.sh/v1alpha1 as a cluster with or without
// KEDA's CRDs does.
type kedaDiscovery struct{ served bool }

func (d kedaDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	if !d.served {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	return &metav1.APIResourceList{GroupVersion: gv, APIResources: []metav1.APIResource{{Name: scaledObjects, Kind: policies.KindScaledObject}}}, nil
}

func storedScaledObject(name, target string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": policies.KindScaledObject,
		"metadata": map[string]any{"name": name, "namespace": "shop", "uid": "u-" + name, "resourceVersion": "3",
			"annotations": map[string]any{"scaledobject.keda.sh/transfer-hpa-ownership": "true", "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": target},
			"minReplicaCount": int64(1), "pollingInterval": int64(30),
			"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"name": "web-hpa"}},
			"triggers": []any{map[string]any{"type": "cpu", "metricType": "Utilization", "metadata": map[string]any{"value": "70"}}},
		},
		"status": map[string]any{"hpaName": "web-hpa"},
	}}
}

func TestScaledObjectWatch(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{scaledObjectGVR: "ScaledObjectList"}, storedScaledObject("web", "web"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newScaledObjectWatch(dyn, kedaDiscovery{served: false}, time.Hour, logr.Discard())
	w.check(ctx)
	if got, err := w.scaledObjectsFor("shop", "Deployment", "web"); err != nil || got != nil {
		t.Fatalf("CRD not served: %v, %v; want none", got, err)
	}
	w.discovery = kedaDiscovery{served: true}
	w.check(ctx)
	var got []*policies.ScaledObject
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err = w.scaledObjectsFor("shop", "Deployment", "web")
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(got) != 1 {
		t.Fatalf("CRD served: %v, %v; want web", got, err)
	}
	so := got[0]
	if so.HPAName() != "web-hpa" || so.MinReplicaCount() != 1 || !so.HasResourceTrigger() ||
		len(so.Annotations) != 1 || so.Annotations["scaledobject.keda.sh/transfer-hpa-ownership"] != "true" {
		t.Errorf("kept %+v", so)
	}
	if all, err := w.in(metav1.NamespaceAll); err != nil || len(all) != 1 {
		t.Errorf("every namespace: %v, %v", all, err)
	}
	if shop, err := w.in("shop"); err != nil || len(shop) != 1 {
		t.Errorf("in shop: %v, %v", shop, err)
	}
	if other, err := w.in("other"); err != nil || len(other) != 0 {
		t.Errorf("in another namespace: %v, %v", other, err)
	}
	if other, _ := w.scaledObjectsFor("shop", "StatefulSet", "web"); len(other) != 0 {
		t.Errorf("a StatefulSet of the same name: %v", other)
	}
}

// TestTransformScaledObjectOddObject: an object the model cannot read
// targets nothing, rather than stopping the informer.
func TestTransformScaledObjectOddObject(t *testing.T) {
	odd := storedScaledObject("web", "web")
	odd.Object["spec"] = map[string]any{"minReplicaCount": "one"}
	out, err := transformScaledObject(odd)
	if err != nil {
		t.Fatal(err)
	}
	if so := out.(*policies.ScaledObject); so.Name != "web" || so.Spec.ScaleTargetRef != nil {
		t.Errorf("kept %+v", so)
	}
}
