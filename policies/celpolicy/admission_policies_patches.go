package celpolicy

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// The mutating policies' JSON patches. Each produces the object the
// webhook's patch produces (policies' mutations, applied by the mutating
// webhook as a diff of the spec); the paths are fixed field names, with
// nothing to escape. A mutating policy runs only when its rule's fixes are
// not empty (its matchCondition), so each patch assumes the HPA breaks
// the rule.

func jsonPatch(op, path, value string) string {
	return "JSONPatch{op: " + quote(op) + ", path: " + quote(path) + ", value: " + value + "}"
}

// minReplicasPatch raises minReplicas to the minimum.
func minReplicasPatch(s *policies.Settings) string {
	return "[" + jsonPatch("add", "/spec/minReplicas", fmt.Sprint(s.Rules.MinReplicas.Minimum)) + "]"
}

// memoryTargetPatch appends the memory target to the metrics; the API
// server has defaulted an empty list to its CPU target, but an absent one
// is handled all the same (mutating policies run before validation).
func memoryTargetPatch(s *policies.Settings) string {
	metric := literal(autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{
			Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(s.Rules.MemoryTarget.AverageUtilization)}},
	})
	return "size(" + list("object.?spec.?metrics") + ") == 0 ? " +
		"[" + jsonPatch("add", "/spec/metrics", "["+metric+"]") + "] : " +
		"[" + jsonPatch("add", "/spec/metrics/-", metric) + "]"
}

// behaviorDefaultsPatch writes the standard behavior, or the standard's
// direction in place of one at Kubernetes's defaults, and a scale-down
// window left to the controller's flag.
func behaviorDefaultsPatch(s *policies.Settings) string {
	b := s.Rules.BehaviorDefaults
	st := behaviorOf("object", b)
	standard := b.Behavior
	window := standardWindow(b)
	return st.none + " ? [" + jsonPatch("add", "/spec/behavior", literal(standard)) + "] : " +
		"(" + st.up + " ? [" + jsonPatch("add", "/spec/behavior/scaleUp", literal(standard.ScaleUp)) + "] : []) + " +
		"(" + st.down + " ? [" + jsonPatch("add", "/spec/behavior/scaleDown", literal(standard.ScaleDown)) + "] : []) + " +
		"(" + st.fill + " ? [" + jsonPatch("add", "/spec/behavior/scaleDown/stabilizationWindowSeconds", fmt.Sprint(window)) + "] : [])"
}
