package oracle

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestProbe(t *testing.T) {
	c := Case{
		HPA: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr.To[int32](2), MaxReplicas: 20,
				Metrics:  []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{},
			},
		},
		Trace:           Trace{Columns: []string{"cpu"}, Samples: []Sample{{0, []int64{500}}, {300, []int64{5000}}, {900, []int64{500}}, {1800, []int64{500}}}},
		InitialReplicas: 2,
	}
	up, err := replayUpstream(t, c)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := ReplayScaleguard(c)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range up {
		t.Logf("%v up=%+v sg=%d %s %s", s.At, s, sg.Syncs[i].Replicas, sg.Syncs[i].Reason, sg.Syncs[i].Stabilization)
	}
}
