package celpolicy

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// scaledObjectObject is a ScaledObject of Deployment web in namespace shop
// as the API server hands it to CEL, with spec fields added.
func scaledObjectObject(spec map[string]any) *unstructured.Unstructured {
	full := map[string]any{
		"scaleTargetRef": map[string]any{"name": "web"},
		"triggers":       []any{map[string]any{"type": "cpu", "metricType": "Utilization", "metadata": map[string]any{"value": "70"}}},
	}
	for k, v := range spec {
		full[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": policies.KindScaledObject,
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     full,
	}}
}

// asScaledObject decodes u as the webhook does.
func asScaledObject(t testing.TB, u *unstructured.Unstructured) *policies.ScaledObject {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	so, err := policies.DecodeScaledObject(data)
	if err != nil {
		t.Fatal(err)
	}
	return so
}

// oddScaledObject is a ScaledObject no schema would admit.
func oddScaledObject() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "keda.sh/v1alpha1", "kind": policies.KindScaledObject,
		"metadata": map[string]any{"annotations": "x"}, "spec": []any{1}}}
}

// TestScaledObjectValidateSendsEveryFinding: every ScaledObject write the
// webhook reports on is sent (beside an HPA of another owner on the same
// target), and the writes skipped are metadata-only updates.
func TestScaledObjectValidateSendsEveryFinding(t *testing.T) {
	s := policies.Defaults()
	m := matcher(t, ScaledObjectValidate, &s)
	c := policies.NewStaticCluster()
	other := cpuHPA()
	other.Name = "web-hpa"
	c.AddHPA(other)
	for name, tc := range map[string]map[string]any{
		"defaults":         nil,
		"minReplicaCount":  {"minReplicaCount": int64(1)},
		"behavior":         {"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"behavior": map[string]any{"scaleDown": map[string]any{"selectPolicy": "Disabled"}}}}},
		"named HPA, max 1": {"maxReplicaCount": int64(1), "advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"name": "web-hpa"}}},
	} {
		t.Run(name, func(t *testing.T) {
			obj := scaledObjectObject(tc)
			if !(call{op: admission.Create, obj: obj}).matches(t, m) {
				t.Error("a create is skipped")
			}
			if found := policies.EvaluateScaledObject(policies.ScaledObjectReview{Object: asScaledObject(t, obj), Cluster: c}, &s); len(found) == 0 {
				t.Errorf("the webhook finds nothing; the case tests nothing")
			}
			labelled := obj.DeepCopy()
			labelled.SetLabels(map[string]string{"team": "a"})
			labelled.SetFinalizers([]string{"finalizer.keda.sh"})
			if (call{op: admission.Update, obj: labelled, old: obj}).matches(t, m) {
				t.Error("a label and finalizer update is sent")
			}
			for what, annotation := range map[string]string{
				"exemption":          policies.AnnotationExempt,
				"ownership transfer": "scaledobject.keda.sh/transfer-hpa-ownership",
			} {
				annotated := obj.DeepCopy()
				annotated.SetAnnotations(map[string]string{annotation: "true"})
				if !(call{op: admission.Update, obj: obj, old: annotated}).matches(t, m) {
					t.Errorf("removing the %s annotation is skipped", what)
				}
				if !(call{op: admission.Update, obj: annotated, old: obj}).matches(t, m) {
					t.Errorf("adding the %s annotation is skipped", what)
				}
			}
			changed := obj.DeepCopy()
			_ = unstructured.SetNestedField(changed.Object, int64(50), "spec", "maxReplicaCount")
			if !(call{op: admission.Update, obj: changed, old: obj}).matches(t, m) {
				t.Error("a spec update is skipped")
			}
		})
	}
	var rules []string
	for _, info := range policies.Catalogue() {
		for _, k := range info.Kinds {
			if k == policies.KindScaledObject {
				rules = append(rules, info.ID)
			}
		}
	}
	off := policies.Defaults()
	off.Rules.MinReplicas.Action, off.Rules.BehaviorDefaults.Action, off.Rules.BehaviorConsistency.Action = policies.Off, policies.Off, policies.Off
	off.Rules.TargetRequests.Action, off.Rules.DuplicateHPA.Action = policies.Off, policies.Off
	for _, id := range rules {
		if off.Action(id) != policies.Off {
			t.Fatalf("%s judges ScaledObjects and is not turned off here", id)
		}
	}
	if (call{op: admission.Create, obj: scaledObjectObject(nil)}).matches(t, matcher(t, ScaledObjectValidate, &off)) {
		t.Error("sent while every rule that judges ScaledObjects is off")
	}
}

// TestOddScaledObjectsNeverFailTheCondition: fields of other types, a spec
// that is not an object, nothing at all.
func TestOddScaledObjectsNeverFailTheCondition(t *testing.T) {
	odd := []map[string]any{
		{},
		{"spec": "x"},
		{"metadata": map[string]any{"annotations": map[string]any{"scaledobject.keda.sh/transfer-hpa-ownership": "true"}}},
		{"metadata": map[string]any{"annotations": "x"}, "spec": []any{1}},
		{"spec": map[string]any{"triggers": "cpu", "advanced": 3}},
	}
	for name, s := range settingsVariants() {
		m := matcher(t, ScaledObjectValidate, s)
		for i, o := range odd {
			obj := &unstructured.Unstructured{Object: o}
			obj.SetAPIVersion("keda.sh/v1alpha1")
			obj.SetKind(policies.KindScaledObject)
			old := &unstructured.Unstructured{Object: odd[(i+1)%len(odd)]}
			t.Run(name, func(t *testing.T) {
				call{op: admission.Create, obj: obj}.matches(t, m)
				call{op: admission.Update, obj: obj, old: old}.matches(t, m)
			})
		}
	}
}
