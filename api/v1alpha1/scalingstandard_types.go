package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScalingStandardSpec is one namespace's overrides of the
// ClusterScalingStandard that applies to it, valid only within that
// standard's spec.overrides bounds.
type ScalingStandardSpec struct {
	// Mode warn turns every deny in this namespace into a warning; only
	// when the cluster standard's overrides.warnMode allows it.
	// +optional
	Mode *Mode `json:"mode,omitempty"`
	// MinReplicas is the lowest minReplicas an HPA of this namespace may
	// have (min-replicas' minimum); at least the cluster standard's
	// overrides.minReplicasFloor.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// Actions changes the action of named rules in this namespace. A rule
	// may always be made stricter; turning deny (or mutate) into warn
	// needs the rule listed in the cluster standard's
	// overrides.relaxableRules, and off is never allowed here.
	// +listType=map
	// +listMapKey=rule
	// +kubebuilder:validation:MaxItems=19
	// +kubebuilder:validation:XValidation:rule="self.all(a, a.action != 'mutate' || a.rule in ['min-replicas', 'memory-target', 'behavior-defaults', 'hpa-replicas-conflict'])",message="only min-replicas, memory-target, behavior-defaults and hpa-replicas-conflict can mutate"
	// +kubebuilder:validation:XValidation:rule="self.all(a, a.action != 'off')",message="a ScalingStandard cannot turn a rule off: use warn, or the scaleguard.io/exempt annotation on the object with a reason"
	// +optional
	Actions []RuleAction `json:"actions,omitempty"`
	// Behavior replaces the block behavior-defaults injects into HPAs of
	// this namespace; only when the cluster standard's
	// overrides.replaceBehavior allows it, and only a block that passes
	// behavior-consistency.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// RuleAction sets one rule's action.
type RuleAction struct {
	// Rule is the rule's ID (docs/rules.md).
	Rule RuleID `json:"rule"`
	// Action is deny, warn or mutate (off is not allowed here).
	Action Action `json:"action"`
}

// ScalingStandard is a namespace's overrides of its ClusterScalingStandard.
// One per namespace is read: the first by name; the others are reported
// in their status and ignored.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ss,categories=scaleguard
// +kubebuilder:printcolumn:name="Min Replicas",type=integer,JSONPath=".status.effectiveMinReplicas"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=".status.effectiveMode"
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=".status.conditions[?(@.type==\"Valid\")].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type ScalingStandard struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ScalingStandardSpec `json:"spec,omitempty"`
	// +optional
	Status StandardStatus `json:"status,omitempty"`
}

// ScalingStandardList is a list of ScalingStandards.
// +kubebuilder:object:root=true
type ScalingStandardList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScalingStandard `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScalingStandard{}, &ScalingStandardList{})
}
