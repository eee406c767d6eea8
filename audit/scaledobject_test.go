package audit

import (
	"slices"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// TestScanJudgesScaledObjects: a stored ScaledObject below the minimum is
// reported on itself, and an HPA of another owner on its target on the HPA
// and on the ScaledObject (duplicate-hpa from both sides); KEDA's own HPA
// of another ScaledObject is not a duplicate of it.
func TestScanJudgesScaledObjects(t *testing.T) {
	s := policies.Defaults()
	so := func(name, target string, min int32) *policies.ScaledObject {
		return &policies.ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: policies.ScaledObjectSpec{
				ScaleTargetRef:  &policies.ScaledObjectTarget{Name: target},
				MinReplicaCount: ptr.To(min),
				Advanced: &policies.ScaledObjectAdvanced{HorizontalPodAutoscalerConfig: &policies.ScaledObjectHPAConfig{
					Behavior: ptr.To(policies.StandardBehavior())}},
				Triggers: []policies.ScaledObjectTrigger{{Type: "cpu", MetricType: autoscalingv2.UtilizationMetricType, Metadata: map[string]string{"value": "70"}}},
			}}
	}
	metrics := func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 70), utilization(corev1.ResourceMemory, 80)}
	}
	other := hpa("shop", "web", "web", metrics)
	owned := hpa("shop", "keda-hpa-api", "api", metrics, func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "api"}}
	})
	res := Scan(Objects{
		Workloads:     workloads(deployment("shop", "web"), deployment("shop", "api")),
		HPAs:          []autoscalingv2.HorizontalPodAutoscaler{other, owned},
		ScaledObjects: []*policies.ScaledObject{so("web", "web", 2), so("api", "api", 1)},
	}, nil, &s)
	got := describe(res.Findings)
	for _, want := range []string{
		"HorizontalPodAutoscaler shop/web duplicate-hpa deny",
		"ScaledObject shop/web duplicate-hpa deny",
		"ScaledObject shop/api min-replicas warn",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("findings %v, want %q among them", got, want)
		}
	}
	for _, unwanted := range []string{"HorizontalPodAutoscaler shop/keda-hpa-api duplicate-hpa deny", "ScaledObject shop/api duplicate-hpa deny"} {
		if slices.Contains(got, unwanted) {
			t.Errorf("KEDA's own HPA counted as a duplicate: %v", got)
		}
	}
	if res.Namespaces["shop"].Objects != 6 {
		t.Errorf("judged %+v, want 6 objects", res.Namespaces["shop"])
	}
}
