package policies

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConvertV1HPA turns an autoscaling/v1 HPA into its v2 form the way the API
// server does: targetCPUUtilizationPercentage becomes a CPU Utilization
// metric, and an HPA without one gets no metrics (the API server then
// defaults them). Status is not carried over.
func ConvertV1HPA(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   TypeMetaHPAv2(),
		ObjectMeta: *in.ObjectMeta.DeepCopy(),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				Kind:       in.Spec.ScaleTargetRef.Kind,
				Name:       in.Spec.ScaleTargetRef.Name,
				APIVersion: in.Spec.ScaleTargetRef.APIVersion,
			},
			MinReplicas: in.Spec.MinReplicas,
			MaxReplicas: in.Spec.MaxReplicas,
		},
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, *p)}
	}
	return out
}

// TypeMetaHPAv2 is the apiVersion and kind of a v2 HPA.
func TypeMetaHPAv2() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: KindHPA}
}
