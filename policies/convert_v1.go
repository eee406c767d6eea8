package policies

import (
	"encoding/json"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// ConvertV1HPA turns an autoscaling/v1 HPA into its v2 form the way the API
// server does (Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler,
// pkg/apis/autoscaling/v1/conversion.go): the metrics of the
// autoscaling.alpha.kubernetes.io/metrics annotation come first and
// targetCPUUtilizationPercentage last, the behavior annotation becomes
// spec.behavior, an HPA left without metrics gets CPU at 80 %, and the
// round-trip annotations are dropped. An annotation that does not decode is
// ignored, as upstream ignores it. Status is not carried over.
func ConvertV1HPA(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   TypeMetaHPAv2(),
		ObjectMeta: objectMetaOf(&in.ObjectMeta),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: scaleTargetRefOf(in.Spec.ScaleTargetRef),
			MinReplicas:    copyInt32(in.Spec.MinReplicas),
			MaxReplicas:    in.Spec.MaxReplicas,
		},
	}
	var otherMetrics []autoscalingv1.MetricSpec
	if enc, ok := in.Annotations[annotationMetricSpecs]; ok && json.Unmarshal([]byte(enc), &otherMetrics) == nil {
		for i := range otherMetrics {
			out.Spec.Metrics = append(out.Spec.Metrics, convertMetricSpec(&otherMetrics[i], objectValueUnlessZero))
		}
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		out.Spec.Metrics = append(out.Spec.Metrics, utilizationMetric(corev1.ResourceCPU, *p))
	}
	out.Spec.Behavior = behaviorAnnotation(in.Annotations)
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, KubernetesDefaultCPUUtilization)}
	}
	return out
}

// behaviorAnnotation reads the autoscaling.alpha.kubernetes.io/behavior
// annotation through which autoscaling/v1 and v2beta1 carry spec.behavior.
// Upstream encodes the internal type, whose fields have no JSON tags; Go's
// decoder matches names case-insensitively, so both spellings read the same
// here as there. A value that does not decode, or decodes to nothing, is
// ignored.
func behaviorAnnotation(annotations map[string]string) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	enc, ok := annotations[annotationBehavior]
	if !ok {
		return nil
	}
	var b autoscalingv2.HorizontalPodAutoscalerBehavior
	if json.Unmarshal([]byte(enc), &b) != nil || (b.ScaleUp == nil && b.ScaleDown == nil) {
		return nil
	}
	return &b
}
