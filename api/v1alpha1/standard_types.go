package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Standard is every setting of scaleguard's settings file, under the same
// keys (docs/rules.md). A setting left out keeps the built-in standard's
// value; a list given empty ([]) means none.
type Standard struct {
	// Mode is enforce (every action as configured) or warn (every deny
	// becomes a warning; mutations still apply).
	// +optional
	Mode *Mode `json:"mode,omitempty"`
	// AllowExistingViolations turns a deny into a warning on UPDATE when
	// the old object already broke the same rule at the same place.
	// +optional
	AllowExistingViolations *bool `json:"allowExistingViolations,omitempty"`
	// ExemptNamespaces are never judged. Read from the default
	// ClusterScalingStandard only: it is cluster-wide.
	// +optional
	ExemptNamespaces []string `json:"exemptNamespaces"`
	// OptOutLabel on a namespace, set to "true", exempts it. Read from the
	// default ClusterScalingStandard only.
	// +optional
	OptOutLabel string `json:"optOutLabel,omitempty"`
	// ExemptionAnnotations lets objects opt out of named rules with
	// scaleguard.io/exempt and scaleguard.io/exempt-reason.
	// +optional
	ExemptionAnnotations *bool `json:"exemptionAnnotations,omitempty"`
	// ExternallyManaged lists owners whose HPAs are validated but never
	// mutated (KEDA's ScaledObject by default).
	// +optional
	ExternallyManaged []OwnerKind `json:"externallyManaged"`
	// WorkloadKinds are custom resources judged like Deployments. Read
	// from the default ClusterScalingStandard only.
	// +optional
	WorkloadKinds []WorkloadKind `json:"workloadKinds"`
	// Audit configures the periodic scan of stored objects. Read from the
	// default ClusterScalingStandard only.
	// +optional
	Audit *Audit `json:"audit,omitempty"`
	// Rules holds each rule's action and numbers, keyed by rule ID.
	// +optional
	Rules *Rules `json:"rules,omitempty"`
}

// Mode is scaleguard's global switch.
// +kubebuilder:validation:Enum=enforce;warn
type Mode string

// Action is what a rule does when an object breaks it; each rule accepts
// the actions docs/rules.md lists for it.
// +kubebuilder:validation:Enum=deny;warn;mutate;off
type Action string

// RuleID names a rule of docs/rules.md.
// +kubebuilder:validation:Enum=requests-required;hpa-api-version;min-replicas;memory-target;behavior-defaults;behavior-consistency;target-exists;scale-target-kind;duplicate-hpa;target-requests;utilization-reachable;hpa-vpa-conflict;metrics-available;cost-ceiling;quota-ceiling;drain-at-minimum;selector-overlap;hpa-replicas-conflict;exemption-reason
type RuleID string

// OwnerKind names a kind of owner by API group and kind.
type OwnerKind struct {
	// APIGroup of the owner, e.g. keda.sh.
	// +optional
	APIGroup string `json:"apiGroup"`
	// Kind of the owner, e.g. ScaledObject.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
}

// WorkloadKind is a custom resource with a /scale subresource judged like
// a Deployment (Argo Rollouts' Rollout, OpenKruise's CloneSet).
type WorkloadKind struct {
	// APIGroup of the kind, e.g. argoproj.io.
	APIGroup string `json:"apiGroup"`
	// Version the webhooks and the cluster view read the objects in.
	Version string `json:"version"`
	// Kind, e.g. Rollout.
	Kind string `json:"kind"`
	// Resource is the plural resource name, e.g. rollouts.
	Resource string `json:"resource"`
}

// Audit configures the audit of objects already in the cluster.
type Audit struct {
	// Enabled turns the audit on.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// IntervalSeconds is the time between two scans.
	// +kubebuilder:validation:Minimum=10
	// +optional
	IntervalSeconds *int32 `json:"intervalSeconds,omitempty"`
	// PolicyReports writes one wgpolicyk8s.io/v1alpha2 PolicyReport per
	// namespace when the API server serves that kind.
	// +optional
	PolicyReports *bool `json:"policyReports,omitempty"`
	// OpenReports writes one openreports.io/v1alpha1 Report per namespace,
	// with the same content, when the API server serves that kind.
	// +optional
	OpenReports *bool `json:"openReports,omitempty"`
}

// Rules has one field per rule; the keys are the rule IDs.
type Rules struct {
	// +optional
	RequestsRequired *RequestsRequiredRule `json:"requests-required,omitempty"`
	// +optional
	HPAAPIVersion *Rule `json:"hpa-api-version,omitempty"`
	// +optional
	MinReplicas *MinReplicasRule `json:"min-replicas,omitempty"`
	// +optional
	MemoryTarget *MemoryTargetRule `json:"memory-target,omitempty"`
	// +optional
	BehaviorDefaults *BehaviorDefaultsRule `json:"behavior-defaults,omitempty"`
	// +optional
	BehaviorConsistency *BehaviorConsistencyRule `json:"behavior-consistency,omitempty"`
	// +optional
	ExemptionReason *Rule `json:"exemption-reason,omitempty"`
	// +optional
	TargetExists *Rule `json:"target-exists,omitempty"`
	// +optional
	TargetRequests *Rule `json:"target-requests,omitempty"`
	// +optional
	UtilizationReachable *Rule `json:"utilization-reachable,omitempty"`
	// +optional
	HPAReplicasConflict *Rule `json:"hpa-replicas-conflict,omitempty"`
	// +optional
	DuplicateHPA *Rule `json:"duplicate-hpa,omitempty"`
	// +optional
	HPAVPAConflict *Rule `json:"hpa-vpa-conflict,omitempty"`
	// +optional
	ScaleTargetKind *Rule `json:"scale-target-kind,omitempty"`
	// +optional
	CostCeiling *CostCeilingRule `json:"cost-ceiling,omitempty"`
	// +optional
	MetricsAvailable *Rule `json:"metrics-available,omitempty"`
	// +optional
	QuotaCeiling *Rule `json:"quota-ceiling,omitempty"`
	// +optional
	DrainAtMinimum *Rule `json:"drain-at-minimum,omitempty"`
	// +optional
	SelectorOverlap *Rule `json:"selector-overlap,omitempty"`
}

// Rule is the part every rule has.
type Rule struct {
	// Action is what the rule does when an object breaks it.
	// +optional
	Action Action `json:"action,omitempty"`
}

// RequestsRequiredRule configures requests-required.
type RequestsRequiredRule struct {
	Rule `json:",inline"`
	// Resources every container must request (cpu and memory by default).
	// +optional
	Resources []corev1.ResourceName `json:"resources"`
}

// MinReplicasRule configures min-replicas.
type MinReplicasRule struct {
	Rule `json:",inline"`
	// Minimum is the lowest minReplicas an HPA may have (2 by default).
	// +kubebuilder:validation:Minimum=1
	// +optional
	Minimum *int32 `json:"minimum,omitempty"`
}

// MemoryTargetRule configures memory-target.
type MemoryTargetRule struct {
	Rule `json:",inline"`
	// AverageUtilization is the memory target injected, in percent.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
}

// BehaviorDefaultsRule configures behavior-defaults.
type BehaviorDefaultsRule struct {
	Rule `json:",inline"`
	// Behavior is the block injected when an HPA has none; given, it
	// replaces the standard's block whole.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// BehaviorConsistencyRule configures behavior-consistency.
type BehaviorConsistencyRule struct {
	Rule `json:",inline"`
	// MaxScaleUpSeconds is the longest acceptable fastest path from
	// minReplicas to maxReplicas.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxScaleUpSeconds *int32 `json:"maxScaleUpSeconds,omitempty"`
	// MaxScaleDownSeconds is the same from maxReplicas to minReplicas.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxScaleDownSeconds *int32 `json:"maxScaleDownSeconds,omitempty"`
	// SyncPeriodSeconds is the HPA controller's sync period.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +optional
	SyncPeriodSeconds *int32 `json:"syncPeriodSeconds,omitempty"`
	// DownscaleStabilizationSeconds is the controller's default scale-down
	// window.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	// +optional
	DownscaleStabilizationSeconds *int32 `json:"downscaleStabilizationSeconds,omitempty"`
}

// CostCeilingRule configures cost-ceiling.
type CostCeilingRule struct {
	Rule `json:",inline"`
	// CPUHourPrice is the price of one requested CPU for an hour.
	// +optional
	CPUHourPrice *float64 `json:"cpuHourPrice,omitempty"`
	// MemoryGiBHourPrice is the price of one requested GiB for an hour.
	// +optional
	MemoryGiBHourPrice *float64 `json:"memoryGiBHourPrice,omitempty"`
	// MonthlyBudget is the most one HPA may cost a month; 0 means none.
	// +optional
	MonthlyBudget *float64 `json:"monthlyBudget,omitempty"`
	// Currency is printed beside the figures.
	// +optional
	Currency string `json:"currency,omitempty"`
	// HoursPerMonth converts hourly prices (730 by default).
	// +optional
	HoursPerMonth *float64 `json:"hoursPerMonth,omitempty"`
}
