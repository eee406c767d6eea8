package policies

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// drainAtMinimum warns when a PodDisruptionBudget selecting the target's
// pods allows no disruption while the HPA holds the target at minReplicas:
// every eviction is then refused, so no node running one of them can be
// drained (cluster upgrades, the cluster autoscaler's scale-down) until the
// load rises.
//
// The budget is computed as the disruption controller computes it
// (k8s.io/kubernetes pkg/controller/disruption/disruption.go,
// getExpectedPodCount and updatePdbStatus) with every one of minReplicas
// pods healthy: an integer minAvailable is the healthy count it demands; a
// percentage is scaled to the expected count (the target's scale, here
// minReplicas) rounding up; maxUnavailable, integer or percentage rounded
// up, leaves expected − maxUnavailable; disruptions allowed are healthy −
// desired. Pods are selected as getPodsForPdb selects them
// (metav1.LabelSelectorAsSelector: a nil selector selects nothing, an
// empty one everything), from the pod template's labels.
func drainAtMinimum(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, c Cluster) Findings {
	pdbs, err := c.PodDisruptionBudgets(w.Meta.Namespace)
	if err != nil {
		return Findings{notChecked(DrainAtMinimum, "the namespace's PodDisruptionBudgets", err)}
	}
	minimum := ptr.Deref(hpa.Spec.MinReplicas, 1)
	if minimum <= 0 {
		// Scaled to zero there is nothing to evict.
		return nil
	}
	podLabels := labels.Set(w.Template.Labels)
	var out Findings
	for _, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(podLabels) {
			continue
		}
		desired, ok := desiredHealthy(pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable, minimum)
		if !ok || minimum-desired > 0 {
			continue
		}
		budget := "minAvailable " + pdb.Spec.MinAvailable.String()
		if pdb.Spec.MaxUnavailable != nil {
			budget = "maxUnavailable " + pdb.Spec.MaxUnavailable.String()
		}
		out = append(out, Finding{Rule: DrainAtMinimum, Action: Deny, Path: pathMinReplicas,
			Message: fmt.Sprintf("at minReplicas %d, PodDisruptionBudget %q (%s) keeps all %d pods of %s %q and allows no eviction, so no node running one can be drained until the HPA scales up; raise spec.minReplicas to %d or loosen the budget (e.g. maxUnavailable: 1)",
				minimum, pdb.Name, budget, minimum, w.Kind, w.Meta.Name, desired+1)})
	}
	return out
}

// desiredHealthy is how many of expected healthy pods a budget demands
// (getExpectedPodCount); ok is false for a value the API server would not
// have accepted.
func desiredHealthy(minAvailable, maxUnavailable *intstr.IntOrString, expected int32) (int32, bool) {
	switch {
	case maxUnavailable != nil:
		m, err := intstr.GetScaledValueFromIntOrPercent(maxUnavailable, int(expected), true)
		if err != nil {
			return 0, false
		}
		return max(expected-int32(m), 0), true
	case minAvailable != nil:
		m, err := intstr.GetScaledValueFromIntOrPercent(minAvailable, int(expected), true)
		if err != nil {
			return 0, false
		}
		return int32(m), true
	}
	return 0, true
}
