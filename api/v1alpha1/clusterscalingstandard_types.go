package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultName is the name of the ClusterScalingStandard that applies to
// every namespace no other ClusterScalingStandard selects.
const DefaultName = "default"

// ClusterScalingStandardSpec is a standard and what namespaces may override
// of it.
// +kubebuilder:validation:XValidation:rule="!has(self.overrides) || !has(self.overrides.minReplicasFloor) || !has(self.rules) || !has(self.rules.min__dash__replicas) || !has(self.rules.min__dash__replicas.minimum) || self.overrides.minReplicasFloor <= self.rules.min__dash__replicas.minimum",message="overrides.minReplicasFloor must not be above rules.min-replicas.minimum: the standard itself would be out of its own bounds",fieldPath=".overrides.minReplicasFloor"
type ClusterScalingStandardSpec struct {
	// NamespaceSelector chooses the namespaces this standard applies to,
	// by their labels. The standard named default must not have one (it
	// applies to every namespace no other standard selects); every other
	// standard must.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	Standard `json:",inline"`

	// Overrides bounds what a ScalingStandard in a namespace this
	// standard applies to may change. Left out, a ScalingStandard may
	// only make the standard stricter.
	// +optional
	Overrides *OverrideBounds `json:"overrides,omitempty"`
}

// OverrideBounds are the limits of a namespace's ScalingStandard.
type OverrideBounds struct {
	// MinReplicasFloor is the lowest minReplicas a ScalingStandard may set
	// (spec.minReplicas); a namespace may raise the minimum but not lower
	// it below this floor. Left out, the floor is the standard's own
	// rules.min-replicas.minimum: a namespace may only raise it.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinReplicasFloor *int32 `json:"minReplicasFloor,omitempty"`
	// RelaxableRules lists the rules whose deny (or mutate) a
	// ScalingStandard may turn into warn. No other rule may be relaxed.
	// +listType=set
	// +optional
	RelaxableRules []RuleID `json:"relaxableRules,omitempty"`
	// WarnMode allows a ScalingStandard to set mode: warn, turning every
	// deny in its namespace into a warning.
	// +optional
	WarnMode bool `json:"warnMode,omitempty"`
	// ReplaceBehavior allows a ScalingStandard to replace the behavior
	// block behavior-defaults injects, provided the block passes
	// behavior-consistency from its minReplicas to ten times that.
	// +optional
	ReplaceBehavior bool `json:"replaceBehavior,omitempty"`
}

// StandardStatus is what scaleguard last made of a standard.
type StandardStatus struct {
	// ObservedGeneration is the generation these conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// EffectiveMinReplicas is the min-replicas minimum in force where the
	// standard applies.
	// +optional
	EffectiveMinReplicas int32 `json:"effectiveMinReplicas,omitempty"`
	// EffectiveMode is the mode in force where the standard applies.
	// +optional
	EffectiveMode Mode `json:"effectiveMode,omitempty"`
	// Conditions: Valid says whether this generation passed validation,
	// and why not; Accepted whether it is the one in force (an invalid
	// generation never replaces the last valid one).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types and reasons of StandardStatus.
const (
	ConditionValid    = "Valid"
	ConditionAccepted = "Accepted"

	// ReasonValid: the generation passed validation.
	ReasonValid = "Valid"
	// ReasonInvalid: a setting has a bad value (the message names it).
	ReasonInvalid = "Invalid"
	// ReasonOutOfBounds: an override is outside the cluster standard's
	// spec.overrides (the message names the bound).
	ReasonOutOfBounds = "OutOfBounds"
	// ReasonInForce: this generation is the one scaleguard judges with.
	ReasonInForce = "InForce"
	// ReasonLastValidKept: this generation is invalid; the last valid one
	// stays in force.
	ReasonLastValidKept = "LastValidKept"
	// ReasonNoValidGeneration: no generation was ever valid; the standard
	// is not in force.
	ReasonNoValidGeneration = "NoValidGeneration"
	// ReasonShadowed: another standard applies instead (a second
	// ScalingStandard in the namespace).
	ReasonShadowed = "Shadowed"
)

// ClusterScalingStandard is scaleguard's standard for the namespaces it
// applies to: every setting of the settings file, and the bounds within
// which a namespace's ScalingStandard may override it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=css,categories=scaleguard
// +kubebuilder:printcolumn:name="Min Replicas",type=integer,JSONPath=".status.effectiveMinReplicas"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=".status.effectiveMode"
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=".status.conditions[?(@.type==\"Valid\")].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default' ? !has(self.spec.namespaceSelector) : has(self.spec.namespaceSelector)",message="the ClusterScalingStandard named default applies to every namespace and takes no spec.namespaceSelector; any other needs one"
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default' || (!has(self.spec.exemptNamespaces) && !has(self.spec.optOutLabel) && !has(self.spec.workloadKinds) && !has(self.spec.audit))",message="exemptNamespaces, optOutLabel, workloadKinds and audit are cluster-wide: set them in the ClusterScalingStandard named default"
type ClusterScalingStandard struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ClusterScalingStandardSpec `json:"spec,omitempty"`
	// +optional
	Status StandardStatus `json:"status,omitempty"`
}

// ClusterScalingStandardList is a list of ClusterScalingStandards.
// +kubebuilder:object:root=true
type ClusterScalingStandardList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterScalingStandard `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterScalingStandard{}, &ClusterScalingStandardList{})
}
