package policies

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ConvertV2beta2HPA turns an autoscaling/v2beta2 HPA, decoded into the v2
// type (the schemas are the same but for v2's tolerance), into its v2 form
// the way the API server did
// (Convert_v2beta2_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler,
// pkg/apis/autoscaling/v2beta2/conversion.go in k8s.io/kubernetes v1.35):
// a tolerance written in the spec is not a v2beta2 field and is dropped,
// the tolerance annotations become behavior.scaleUp/scaleDown.tolerance,
// and the round-trip annotations are dropped. A tolerance annotation that
// is not a quantity is refused, as the API server refused it.
func ConvertV2beta2HPA(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	out := in.DeepCopy()
	out.TypeMeta = TypeMetaHPAv2()
	out.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	if b := out.Spec.Behavior; b != nil {
		for _, r := range []*autoscalingv2.HPAScalingRules{b.ScaleUp, b.ScaleDown} {
			if r != nil {
				r.Tolerance = nil
			}
		}
	}
	for _, a := range []struct {
		annotation string
		rules      func(*autoscalingv2.HorizontalPodAutoscalerBehavior) **autoscalingv2.HPAScalingRules
	}{
		{annotationScaleDownTolerance, func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) **autoscalingv2.HPAScalingRules {
			return &b.ScaleDown
		}},
		{annotationScaleUpTolerance, func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) **autoscalingv2.HPAScalingRules {
			return &b.ScaleUp
		}},
	} {
		value, ok := in.Annotations[a.annotation]
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("metadata.annotations[%s]: %q is not a quantity (the API server refuses it); write the tolerance as spec.behavior's tolerance in autoscaling/v2: %w",
				a.annotation, value, err)
		}
		if out.Spec.Behavior == nil {
			out.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
		}
		rules := a.rules(out.Spec.Behavior)
		if *rules == nil {
			*rules = &autoscalingv2.HPAScalingRules{}
		}
		(*rules).Tolerance = &q
	}
	out.Annotations = dropRoundTripAnnotations(out.Annotations)
	return out, nil
}
