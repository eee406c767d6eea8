package policies

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HPAv2beta1 is an autoscaling/v2beta1 HorizontalPodAutoscaler without its
// status. k8s.io/api no longer has the type (removed in 1.36); its metrics
// have the shape autoscaling/v1 keeps for its metrics annotation, so they
// decode into autoscalingv1.MetricSpec.
type HPAv2beta1 struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              HPAv2beta1Spec `json:"spec,omitempty"`
}

// HPAv2beta1Spec is the spec of an autoscaling/v2beta1 HPA.
type HPAv2beta1Spec struct {
	ScaleTargetRef autoscalingv1.CrossVersionObjectReference `json:"scaleTargetRef"`
	MinReplicas    *int32                                    `json:"minReplicas,omitempty"`
	MaxReplicas    int32                                     `json:"maxReplicas"`
	Metrics        []autoscalingv1.MetricSpec                `json:"metrics,omitempty"`
}

// ConvertV2beta1HPA turns an autoscaling/v2beta1 HPA into its v2 form the
// way the API server did
// (Convert_v2beta1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler,
// pkg/apis/autoscaling/v2beta1/conversion.go in k8s.io/kubernetes v1.35):
// each metric's targetAverageUtilization, targetAverageValue, targetValue,
// metricName and selector become a v2 target and metric identifier, an
// object metric's `target` becomes describedObject, the behavior annotation
// becomes spec.behavior and the round-trip annotations are dropped. An HPA
// without metrics gets CPU at 80 %, the v2beta1 default
// (SetDefaults_HorizontalPodAutoscaler).
func ConvertV2beta1HPA(in *HPAv2beta1) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   TypeMetaHPAv2(),
		ObjectMeta: objectMetaOf(&in.ObjectMeta),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: scaleTargetRefOf(in.Spec.ScaleTargetRef),
			MinReplicas:    copyInt32(in.Spec.MinReplicas),
			MaxReplicas:    in.Spec.MaxReplicas,
			Behavior:       behaviorAnnotation(in.Annotations),
		},
	}
	for i := range in.Spec.Metrics {
		out.Spec.Metrics = append(out.Spec.Metrics, convertMetricSpec(&in.Spec.Metrics[i], objectValueAlways))
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, KubernetesDefaultCPUUtilization)}
	}
	return out
}
