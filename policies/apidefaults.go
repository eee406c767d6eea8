package policies

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// The API server defaults an HPA before any webhook sees it. The offline
// check reads files that were never defaulted, so it applies the same
// defaults first; the rules then see what the webhook would see. Mirrors
// k8s.io/kubernetes pkg/apis/autoscaling/v2/defaults.go.

// KubernetesDefaultCPUUtilization is the target the API server gives an HPA
// that lists no metrics.
const KubernetesDefaultCPUUtilization = 80

// ApplyAPIServerDefaults sets the fields the API server would default. It is
// a no-op on an object that the API server has already defaulted.
func ApplyAPIServerDefaults(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	spec := &hpa.Spec
	if spec.MinReplicas == nil {
		spec.MinReplicas = ptr.To[int32](1)
	}
	if len(spec.Metrics) == 0 {
		spec.Metrics = []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, KubernetesDefaultCPUUtilization)}
	}
	spec.Behavior = scaling.DefaultedBehavior(spec.Behavior)
}

func utilizationMetric(name corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name: name,
			Target: autoscalingv2.MetricTarget{
				Type:               autoscalingv2.UtilizationMetricType,
				AverageUtilization: ptr.To(percent),
			},
		},
	}
}
