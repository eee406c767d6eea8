package audit

import (
	"slices"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// TestScanReportsHPAVPAConflict: a stored HPA on cpu whose target a VPA
// resizes is reported, once, on the HPA; a VPA in Off mode is not.
func TestScanReportsHPAVPAConflict(t *testing.T) {
	s := policies.Defaults()
	vpa := func(name, target, mode string) *policies.VPA {
		return &policies.VPA{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: policies.VPASpec{
				TargetRef:    &autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: policies.KindDeployment, Name: target},
				UpdatePolicy: &policies.VPAUpdatePolicy{UpdateMode: ptr.To(mode)},
			}}
	}
	h := hpa("shop", "web", "web", func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 70), utilization(corev1.ResourceMemory, 80)}
	})
	quiet := hpa("shop", "api", "api", func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 70), utilization(corev1.ResourceMemory, 80)}
	})
	res := Scan(Objects{
		Workloads: workloads(deployment("shop", "web"), deployment("shop", "api")),
		HPAs:      []autoscalingv2.HorizontalPodAutoscaler{h, quiet},
		VPAs:      []*policies.VPA{vpa("web-vpa", "web", "InPlaceOrRecreate"), vpa("api-vpa", "api", "Off")},
	}, nil, &s)
	got := describe(res.Findings)
	want := []string{
		"HorizontalPodAutoscaler shop/web hpa-vpa-conflict deny",
		"HorizontalPodAutoscaler shop/web hpa-vpa-conflict deny",
	}
	var conflicts []string
	for _, d := range got {
		if slices.Contains(want, d) {
			conflicts = append(conflicts, d)
		}
	}
	if !slices.Equal(conflicts, want) {
		t.Errorf("findings %v, want %v among them", got, want)
	}
	if n := res.ViolationCounts()[ViolationKey{Rule: policies.HPAVPAConflict, Namespace: "shop", Kind: policies.KindHPA, Action: policies.Deny}]; n != 1 {
		t.Errorf("%d HPAs counted for hpa-vpa-conflict, want 1", n)
	}
}
