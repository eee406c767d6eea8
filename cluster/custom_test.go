package cluster

import (
	"reflect"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

var rolloutKind = policies.WorkloadKind{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}

func unstructuredOf(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const storedRollout = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  namespace: shop
  uid: 6f1c
  resourceVersion: "42"
  labels: {app: web}
  annotations: {scaleguard.io/exempt: utilization-reachable, scaleguard.io/exempt-reason: canary, note: dropped}
  managedFields: [{manager: kubectl, operation: Apply}]
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: example.com/web:1
        env: [{name: A, value: b}]
        resources: {requests: {cpu: 1, memory: 128Mi}, limits: {memory: 256Mi}}
      initContainers:
      - {name: proxy, image: example.com/proxy:1, restartPolicy: Always, resources: {requests: {cpu: 50m}}}
status: {replicas: 4, selector: app=web}
`

// A stored custom workload becomes the Deployment's entry: the rules read
// from it what they read from the object itself, and the audit's reader
// hands back an object that decodes to the same workload.
func TestTransformCustomWorkload(t *testing.T) {
	u := unstructuredOf(t, storedRollout)
	want, err := policies.WorkloadFromUnstructured(rolloutKind, u.DeepCopy().Object)
	if err != nil {
		t.Fatal(err)
	}
	out, err := transformCustomWorkload(rolloutKind)(u)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := out.(*entry)
	if !ok {
		t.Fatalf("transformed into %T, want an entry", out)
	}
	again, err := transformCustomWorkload(rolloutKind)(e)
	if err != nil || again != e {
		t.Errorf("the transform is not idempotent: %T, %v", again, err)
	}
	got, err := customWorkload(rolloutKind, e)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "Rollout" || got.Selector == nil || got.Selector.String() != "app=web" || *got.Replicas != 4 || got.Meta.Annotations[policies.AnnotationExempt] != "utilization-reachable" {
		t.Errorf("workload = %s %v %d %v", got.Kind, got.Selector, *got.Replicas, got.Meta.Annotations)
	}
	if _, kept := got.Meta.Annotations["note"]; kept {
		t.Errorf("an annotation not scaleguard's was kept")
	}
	// What the rules judge is the same.
	s := policies.Defaults()
	s.WorkloadKinds = []policies.WorkloadKind{rolloutKind}
	if a, b := policies.EvaluateWorkload(policies.WorkloadReview{Object: want}, &s), policies.EvaluateWorkload(policies.WorkloadReview{Object: *got}, &s); !reflect.DeepEqual(a, b) {
		t.Errorf("verdicts differ: object %v, entry %v", a, b)
	}
	if !apiequality.Semantic.DeepEqual(want.Template.Spec.Containers[0].Resources, got.Template.Spec.Containers[0].Resources) ||
		*got.Template.Spec.InitContainers[0].RestartPolicy != "Always" {
		t.Errorf("the pod template lost what the rules read: %+v", got.Template.Spec)
	}
}

// A stored object the rules cannot read is kept whole, without its
// managedFields, rather than fail the informer's list; its lookup answers
// the reading error.
func TestTransformUnreadableCustomWorkload(t *testing.T) {
	u := unstructuredOf(t, strings.Replace(storedRollout, "replicas: 4", "replicas: four", 1))
	out, err := transformCustomWorkload(rolloutKind)(u)
	if err != nil {
		t.Fatalf("the transform failed, which would fail the informer's whole list: %v", err)
	}
	kept, ok := out.(*unstructured.Unstructured)
	if !ok || kept.GetManagedFields() != nil {
		t.Fatalf("kept %T with managedFields %v, want the object without them", out, kept.GetManagedFields())
	}
	if _, err := customWorkload(rolloutKind, kept); err == nil || !strings.Contains(err.Error(), "Rollout shop/web") {
		t.Errorf("lookup error = %v, want one naming the object", err)
	}
}
