package celpolicy

import (
	"encoding/json"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// vpaObject is a VerticalPodAutoscaler of Deployment web in namespace shop
// as the API server hands it to CEL, with spec fields added.
func vpaObject(t testing.TB, spec map[string]any) *unstructured.Unstructured {
	t.Helper()
	full := map[string]any{"targetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
	for k, v := range spec {
		full[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1", "kind": policies.KindVPA,
		"metadata": map[string]any{"name": "web-vpa", "namespace": "shop"},
		"spec":     full,
	}}
}

func mode(m any) map[string]any {
	return map[string]any{"updatePolicy": map[string]any{"updateMode": m}}
}

// asVPA decodes u as the webhook does.
func asVPA(t testing.TB, u *unstructured.Unstructured) *policies.VPA {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	v, err := policies.DecodeVPA(data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVPAValidateSendsEveryConflict: every VPA write the webhook would
// report on is sent (against an HPA on cpu and memory of its target), and
// the writes skipped are those that cannot conflict.
func TestVPAValidateSendsEveryConflict(t *testing.T) {
	s := policies.Defaults()
	m := matcher(t, VPAValidate, &s)
	c := policies.NewStaticCluster()
	h := cpuHPA()
	c.AddHPA(h)
	onlyStorage := map[string]any{"resourcePolicy": map[string]any{"containerPolicies": []any{
		map[string]any{"containerName": "*", "controlledResources": []any{"ephemeral-storage"}}}}}
	for name, tc := range map[string]struct {
		spec map[string]any
		sent bool
	}{
		"no update policy":  {nil, true},
		"Auto":              {mode("Auto"), true},
		"Recreate":          {mode("Recreate"), true},
		"InPlaceOrRecreate": {mode("InPlaceOrRecreate"), true},
		"Off":               {mode("Off"), false},
		"Initial":           {mode("Initial"), false},
		// Sent, and judged by the webhook: the condition does not read the
		// resource policy.
		"other resource only": {onlyStorage, true},
	} {
		t.Run(name, func(t *testing.T) {
			obj := vpaObject(t, tc.spec)
			sent := call{op: admission.Create, obj: obj}.matches(t, m)
			if sent != tc.sent {
				t.Errorf("create sent %v, want %v", sent, tc.sent)
			}
			found := policies.EvaluateVPA(policies.VPAReview{Object: asVPA(t, obj), Cluster: c}, &s)
			if len(found) > 0 && !sent {
				t.Errorf("skipped, but the webhook says %v", found)
			}
			labelled := obj.DeepCopy()
			labelled.SetLabels(map[string]string{"team": "a"})
			if (call{op: admission.Update, obj: labelled, old: obj}).matches(t, m) {
				t.Error("a label update is sent")
			}
			exempted := obj.DeepCopy()
			exempted.SetAnnotations(map[string]string{policies.AnnotationExempt: policies.HPAVPAConflict})
			if got := (call{op: admission.Update, obj: obj, old: exempted}).matches(t, m); got != tc.sent {
				t.Errorf("removing the exemption sent %v, want %v", got, tc.sent)
			}
		})
	}
	off := vpaObject(t, mode("Off"))
	if !(call{op: admission.Update, obj: vpaObject(t, nil), old: off}).matches(t, m) {
		t.Error("an update from Off to the default mode is skipped")
	}
	rOff := policies.Defaults()
	rOff.Rules.HPAVPAConflict.Action = policies.Off
	if (call{op: admission.Create, obj: vpaObject(t, nil)}).matches(t, matcher(t, VPAValidate, &rOff)) {
		t.Error("sent while hpa-vpa-conflict is off")
	}
}

// TestOddVPAsNeverFailTheCondition: a mode of another type, a spec that is
// not an object, nothing at all.
func TestOddVPAsNeverFailTheCondition(t *testing.T) {
	odd := []map[string]any{
		{},
		{"spec": "x"},
		{"spec": map[string]any{"updatePolicy": "Off"}},
		{"spec": mode(3)},
		{"spec": mode(nil)},
		{"spec": mode([]any{"Off"})},
		{"metadata": map[string]any{"annotations": map[string]any{}}, "spec": map[string]any{"updatePolicy": map[string]any{}}},
	}
	for name, s := range settingsVariants() {
		m := matcher(t, VPAValidate, s)
		for i, o := range odd {
			obj := &unstructured.Unstructured{Object: o}
			obj.SetAPIVersion("autoscaling.k8s.io/v1")
			obj.SetKind(policies.KindVPA)
			old := &unstructured.Unstructured{Object: odd[(i+1)%len(odd)]}
			t.Run(name, func(t *testing.T) {
				call{op: admission.Create, obj: obj}.matches(t, m)
				call{op: admission.Update, obj: obj, old: old}.matches(t, m)
			})
		}
	}
}

// cpuHPA is an HPA of Deployment web on cpu and memory.
func cpuHPA() *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    5,
		}}
	policies.ApplyAPIServerDefaults(h)
	return h
}
