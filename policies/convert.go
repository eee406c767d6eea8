package policies

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server stores an HPA in one internal form and converts every
// version through it. The conversions here go straight from an old version
// to autoscaling/v2, which is what the webhook receives and what
// `scaleguard check --fix` writes; each function names the upstream
// function it mirrors (k8s.io/kubernetes pkg/apis/autoscaling/...). The
// v2beta1 and v2beta2 packages were removed from k8s.io/kubernetes in 1.36
// (and their types from k8s.io/api), so for those the source is the last
// release that had them, v1.35.

// Annotations through which older versions carry fields they have no place
// for (k8s.io/kubernetes pkg/apis/autoscaling/annotations.go).
const (
	annotationMetricSpecs        = "autoscaling.alpha.kubernetes.io/metrics"
	annotationMetricStatuses     = "autoscaling.alpha.kubernetes.io/current-metrics"
	annotationConditions         = "autoscaling.alpha.kubernetes.io/conditions"
	annotationBehavior           = "autoscaling.alpha.kubernetes.io/behavior"
	annotationScaleDownTolerance = "autoscaling.alpha.kubernetes.io/scale-down-tolerance"
	annotationScaleUpTolerance   = "autoscaling.alpha.kubernetes.io/scale-up-tolerance"
)

// dropRoundTripAnnotations removes the annotations that carried fields
// across versions, as DropRoundTripHorizontalPodAutoscalerAnnotations
// (pkg/apis/autoscaling/helpers.go) does on every conversion. It never
// changes its argument.
func dropRoundTripAnnotations(in map[string]string) map[string]string {
	roundTrip := []string{annotationMetricSpecs, annotationMetricStatuses, annotationConditions,
		annotationBehavior, annotationScaleDownTolerance, annotationScaleUpTolerance}
	found := false
	for _, k := range roundTrip {
		_, ok := in[k]
		found = found || ok
	}
	if !found {
		return in
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	for _, k := range roundTrip {
		delete(out, k)
	}
	return out
}

// objectMetaOf copies the metadata of an old-version HPA, without the
// round-trip annotations.
func objectMetaOf(in *metav1.ObjectMeta) metav1.ObjectMeta {
	out := *in.DeepCopy()
	out.Annotations = dropRoundTripAnnotations(out.Annotations)
	return out
}

// scaleTargetRefOf converts the scale target reference, which has the same
// fields in every version.
func scaleTargetRefOf(in autoscalingv1.CrossVersionObjectReference) autoscalingv2.CrossVersionObjectReference {
	return autoscalingv2.CrossVersionObjectReference{Kind: in.Kind, Name: in.Name, APIVersion: in.APIVersion}
}

// objectMetricValue says how a version's object metric carries its value:
// autoscaling/v1's annotation keeps targetValue beside averageValue only
// when it is not zero, v2beta1 always keeps it.
type objectMetricValue int

const (
	objectValueAlways objectMetricValue = iota
	objectValueUnlessZero
)

// convertMetricSpec converts a metric in the v2beta1 shape, which is also
// the shape of autoscaling/v1's metrics annotation: the generated
// autoConvert_v1_MetricSpec_To_autoscaling_MetricSpec and its v2beta1 twin,
// which copy the type and convert each source that is set.
func convertMetricSpec(in *autoscalingv1.MetricSpec, object objectMetricValue) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(in.Type)}
	if in.Object != nil {
		out.Object = convertObjectMetric(in.Object, object)
	}
	if in.Pods != nil {
		out.Pods = convertPodsMetric(in.Pods)
	}
	if in.Resource != nil {
		out.Resource = convertResourceMetric(in.Resource)
	}
	if in.ContainerResource != nil {
		out.ContainerResource = convertContainerResourceMetric(in.ContainerResource)
	}
	if in.External != nil {
		out.External = convertExternalMetric(in.External)
	}
	return out
}

// averageOrUtilization is the target of a Resource or ContainerResource
// metric: Utilization when targetAverageUtilization is set, AverageValue
// otherwise.
func averageOrUtilization(utilization *int32, averageValue *resource.Quantity) autoscalingv2.MetricTarget {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType,
		AverageValue: copyQuantity(averageValue), AverageUtilization: copyInt32(utilization)}
	if utilization != nil {
		t.Type = autoscalingv2.UtilizationMetricType
	}
	return t
}

// convertResourceMetric mirrors
// Convert_v2beta1_ResourceMetricSource_To_autoscaling_ResourceMetricSource
// and its autoscaling/v1 twin.
func convertResourceMetric(in *autoscalingv1.ResourceMetricSource) *autoscalingv2.ResourceMetricSource {
	return &autoscalingv2.ResourceMetricSource{Name: in.Name,
		Target: averageOrUtilization(in.TargetAverageUtilization, in.TargetAverageValue)}
}

// convertContainerResourceMetric mirrors
// Convert_v1_ContainerResourceMetricSource_To_autoscaling_ContainerResourceMetricSource.
// Its v2beta1 twin forgets to copy `container` (v1.35), which leaves an
// object that autoscaling/v2 validation refuses; the container the user
// named is kept here for both versions, as the generated
// autoConvert_v2beta1_ContainerResourceMetricSource_To_autoscaling_ContainerResourceMetricSource
// does.
func convertContainerResourceMetric(in *autoscalingv1.ContainerResourceMetricSource) *autoscalingv2.ContainerResourceMetricSource {
	return &autoscalingv2.ContainerResourceMetricSource{Name: in.Name, Container: in.Container,
		Target: averageOrUtilization(in.TargetAverageUtilization, in.TargetAverageValue)}
}

// convertPodsMetric mirrors
// Convert_v2beta1_PodsMetricSource_To_autoscaling_PodsMetricSource: the
// target is always an AverageValue.
func convertPodsMetric(in *autoscalingv1.PodsMetricSource) *autoscalingv2.PodsMetricSource {
	return &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: in.MetricName, Selector: in.Selector.DeepCopy()},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: copyQuantity(&in.TargetAverageValue)},
	}
}

// convertExternalMetric mirrors
// Convert_v2beta1_ExternalMetricSource_To_autoscaling_ExternalMetricSource:
// a Value target when targetValue is set, AverageValue otherwise.
func convertExternalMetric(in *autoscalingv1.ExternalMetricSource) *autoscalingv2.ExternalMetricSource {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType,
		Value: copyQuantity(in.TargetValue), AverageValue: copyQuantity(in.TargetAverageValue)}
	if in.TargetValue != nil {
		t.Type = autoscalingv2.ValueMetricType
	}
	return &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: in.MetricName, Selector: in.MetricSelector.DeepCopy()},
		Target: t,
	}
}

// convertObjectMetric mirrors
// Convert_v2beta1_ObjectMetricSource_To_autoscaling_ObjectMetricSource and
// Convert_v1_ObjectMetricSource_To_autoscaling_ObjectMetricSource: `target`
// becomes describedObject, and the target is AverageValue when averageValue
// is set, Value otherwise.
func convertObjectMetric(in *autoscalingv1.ObjectMetricSource, value objectMetricValue) *autoscalingv2.ObjectMetricSource {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, AverageValue: copyQuantity(in.AverageValue)}
	switch {
	case in.AverageValue == nil:
		t.Value = copyQuantity(&in.TargetValue)
	case value == objectValueAlways || !in.TargetValue.IsZero():
		t.Type = autoscalingv2.AverageValueMetricType
		t.Value = copyQuantity(&in.TargetValue)
	default:
		t.Type = autoscalingv2.AverageValueMetricType
	}
	return &autoscalingv2.ObjectMetricSource{
		DescribedObject: scaleTargetRefOf(in.Target),
		Metric:          autoscalingv2.MetricIdentifier{Name: in.MetricName, Selector: in.Selector.DeepCopy()},
		Target:          t,
	}
}

func copyQuantity(q *resource.Quantity) *resource.Quantity {
	if q == nil {
		return nil
	}
	c := q.DeepCopy()
	return &c
}

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// TypeMetaHPAv2 is the apiVersion and kind of a v2 HPA.
func TypeMetaHPAv2() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: KindHPA}
}
