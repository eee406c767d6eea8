package policies

// Rule IDs. Each is also the rule's key in the settings file, its label in
// metrics and its heading in docs/rules.md.
const (
	RequestsRequired    = "requests-required"
	HPAAPIVersion       = "hpa-api-version"
	MinReplicas         = "min-replicas"
	MemoryTarget        = "memory-target"
	BehaviorDefaults    = "behavior-defaults"
	BehaviorConsistency = "behavior-consistency"
	ExemptionReason     = "exemption-reason"

	TargetExists         = "target-exists"
	TargetRequests       = "target-requests"
	UtilizationReachable = "utilization-reachable"
	HPAReplicasConflict  = "hpa-replicas-conflict"
	HPAVPAConflict       = "hpa-vpa-conflict"
	DuplicateHPA         = "duplicate-hpa"
	ScaleTargetKind      = "scale-target-kind"
	CostCeiling          = "cost-ceiling"
	MetricsAvailable     = "metrics-available"
	QuotaCeiling         = "quota-ceiling"
	DrainAtMinimum       = "drain-at-minimum"
	SelectorOverlap      = "selector-overlap"
)

// RuleInfo describes a rule for the catalogue, the settings validator and
// the exemption annotation.
type RuleInfo struct {
	ID string
	// Kinds the rule looks at.
	Kinds []string
	// Actions the rule can be set to; the first is its default.
	Actions []Action
	// Summary is a one-line description for listings.
	Summary string
}

// Catalogue lists every rule in the order findings are reported.
var catalogue = []RuleInfo{
	{RequestsRequired, []string{KindDeployment, KindStatefulSet}, []Action{Deny, Warn, Off},
		"every container and sidecar requests the resources autoscaling measures"},
	{HPAAPIVersion, []string{KindHPA}, []Action{Deny, Warn, Off},
		"HorizontalPodAutoscalers are written as autoscaling/v2"},
	{MinReplicas, []string{KindHPA, KindScaledObject}, []Action{Mutate, Deny, Warn, Off},
		"minReplicas is at least the configured minimum"},
	{MemoryTarget, []string{KindHPA}, []Action{Mutate, Deny, Warn, Off},
		"a memory utilization target stands beside CPU"},
	{BehaviorDefaults, []string{KindHPA, KindScaledObject}, []Action{Mutate, Deny, Warn, Off},
		"scale up fast and down slowly unless the HPA says otherwise"},
	{BehaviorConsistency, []string{KindHPA, KindScaledObject}, []Action{Deny, Warn, Off},
		"behavior settings that can never work or move too slowly"},
	{TargetExists, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the HPA's scaleTargetRef names an existing workload"},
	{ScaleTargetKind, []string{KindHPA}, []Action{Deny, Warn, Off},
		"the scale target's kind has a /scale subresource"},
	{DuplicateHPA, []string{KindHPA, KindScaledObject}, []Action{Deny, Warn, Off},
		"one autoscaler (HPA or ScaledObject) per scale target"},
	{TargetRequests, []string{KindHPA, KindDeployment, KindStatefulSet, KindScaledObject}, []Action{Deny, Warn, Off},
		"the target requests every resource the HPA's metrics measure"},
	{UtilizationReachable, []string{KindHPA, KindDeployment, KindStatefulSet}, []Action{Deny, Warn, Off},
		"a utilization target the pods can reach under their limits"},
	{HPAVPAConflict, []string{KindHPA, KindVPA}, []Action{Deny, Warn, Off},
		"no VerticalPodAutoscaler changes the cpu or memory an HPA scales on"},
	{MetricsAvailable, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the cluster serves the metrics APIs the HPA needs"},
	{CostCeiling, []string{KindHPA}, []Action{Off, Warn, Deny},
		"the most an HPA can cost a month stays within budget"},
	{QuotaCeiling, []string{KindHPA}, []Action{Warn, Deny, Off},
		"maxReplicas pods fit in the namespace's ResourceQuota"},
	{DrainAtMinimum, []string{KindHPA}, []Action{Warn, Deny, Off},
		"a PodDisruptionBudget lets a node drain while the HPA is at its minimum"},
	{SelectorOverlap, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the target's selector counts its own pods only, and no other HPA's"},
	{HPAReplicasConflict, []string{KindDeployment, KindStatefulSet}, []Action{Warn, Mutate, Deny, Off},
		"a workload update does not reset the replica count its HPA manages"},
	{ExemptionReason, []string{KindDeployment, KindStatefulSet, KindHPA}, []Action{Warn, Deny, Off},
		"an exemption annotation names known rules and gives a reason"},
}

// Catalogue returns a copy of the rule catalogue.
func Catalogue() []RuleInfo {
	return append([]RuleInfo(nil), catalogue...)
}

// Known reports whether id names a rule.
func Known(id string) bool {
	return ruleOrder(id) < len(catalogue)
}

func ruleOrder(id string) int {
	for i, r := range catalogue {
		if r.ID == id {
			return i
		}
	}
	return len(catalogue)
}

// Kinds the rules know.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindHPA         = "HorizontalPodAutoscaler"
)
