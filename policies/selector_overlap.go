package policies

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// selectorOverlap looks at the pods the HPA controller will count for the
// target. The controller lists every pod of the namespace matching the
// selector the target's scale subresource reports (pkg/controller/
// podautoscaler/horizontal.go, validateAndParseSelector; replica_calculator.go
// lists pods with it), whoever owns them, so:
//
//   - when the selector also matches the pod template of another workload,
//     the HPA averages that workload's pods with its own and scales the
//     target for their load (kubernetes/kubernetes#108920): a warning
//     naming the other workload;
//   - when another HPA's target selects any of those pods (its selector
//     matches the template of the target or of such a workload),
//     validateAndParseSelector finds the pods "controlled by more than one
//     HPA" (selectorTracker.HPAsMatchingPods) and sets ScalingActive=False
//     with reason AmbiguousSelector on both: neither scales. A denial.
//
// Two HPAs on the very same target are duplicate-hpa's to report. Pods of
// other kinds (bare pods, Jobs, ReplicaSets of no Deployment) are not in
// the view and not judged.
func selectorOverlap(hpa *autoscalingv2.HorizontalPodAutoscaler, target *Workload, c Cluster) Findings {
	sel := target.Selector
	if sel == nil {
		return nil
	}
	ns := target.Meta.Namespace
	workloads, err := c.WorkloadPods(ns)
	if err != nil {
		return Findings{notChecked(SelectorOverlap, "the namespace's workloads", err)}
	}
	byKey := make(map[string]WorkloadPods, len(workloads))
	for _, w := range workloads {
		byKey[w.Kind+"/"+w.Name] = w
	}
	self := target.Kind + "/" + target.Meta.Name
	counted := []WorkloadPods{PodsOf(target)}
	var out Findings
	for _, w := range workloads {
		if w.Kind+"/"+w.Name == self || !sel.Matches(w.PodLabels) {
			continue
		}
		counted = append(counted, w)
		out = append(out, Finding{Rule: SelectorOverlap, Action: Warn, Path: pathScaleTargetRef,
			Message: fmt.Sprintf("the selector of %s %q (%s) also matches the pods of %s %q: the HPA averages their usage with its own pods' and scales %q for their load; give the two workloads a label that tells their pods apart",
				target.Kind, target.Meta.Name, sel, w.Kind, w.Name, target.Meta.Name)})
	}
	others, err := c.ScaleTargets(ns)
	if err != nil {
		return append(out, notChecked(SelectorOverlap, "the namespace's HPAs", err))
	}
	ref := hpa.Spec.ScaleTargetRef
	for _, o := range others {
		theirs, ok := byKey[o.Kind+"/"+o.Name]
		if o.HPA == hpa.Name || (o.Kind == ref.Kind && o.Name == ref.Name) || !ok || theirs.Selector == "" {
			continue
		}
		for _, w := range counted {
			if selectorMatches(theirs.Selector, w.PodLabels) {
				out = append(out, Finding{Rule: SelectorOverlap, Action: Deny, Path: pathScaleTargetRef,
					Message: fmt.Sprintf("HPA %q, scaling %s %q (selector %s), also counts the pods of %s %q that this HPA counts: the HPA controller stops both (ScalingActive False, AmbiguousSelector); give each target's pods a label the other's selector excludes",
						o.HPA, theirs.Kind, theirs.Name, theirs.Selector, w.Kind, w.Name)})
				break
			}
		}
	}
	return out
}
