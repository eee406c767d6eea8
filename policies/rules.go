package policies

import "slices"

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

// RuleInfo is everything about a rule that the rest of scaleguard derives
// from: the settings' defaults and validation, Settings.Action, the chart's
// values.schema.json (hack/chartschema), SARIF's rule list and the CEL the
// API server evaluates all read it here, so that adding a rule is one entry.
type RuleInfo struct {
	// ID is the rule's key under rules: in the settings, its metric label
	// and its heading in docs/rules.md (see Anchor).
	ID string
	// Kinds the rule looks at.
	Kinds []string
	// Actions the rule can be set to; the first is its default.
	Actions []Action
	// Summary is a one-line description for listings.
	Summary string
	// Setting is where the rule's action is kept in the settings: the
	// field of RuleSettings whose JSON key is ID.
	Setting func(*RuleSettings) *ActionSetting
}

// Default is the rule's action in the built-in standard.
func (r RuleInfo) Default() Action { return r.Actions[0] }

// Allows reports whether the rule can be set to a.
func (r RuleInfo) Allows(a Action) bool { return slices.Contains(r.Actions, a) }

// Anchor is the fragment of the rule's section in docs/rules.md: its
// heading is the ID, which is already lower case and hyphenated.
func (r RuleInfo) Anchor() string { return r.ID }

// Catalogue lists every rule in the order findings are reported.
var catalogue = []RuleInfo{
	{RequestsRequired, []string{KindDeployment, KindStatefulSet}, []Action{Deny, Warn, Off},
		"every container and sidecar requests the resources autoscaling measures",
		func(r *RuleSettings) *ActionSetting { return &r.RequestsRequired.ActionSetting }},
	{HPAAPIVersion, []string{KindHPA}, []Action{Deny, Warn, Off},
		"HorizontalPodAutoscalers are written as autoscaling/v2",
		func(r *RuleSettings) *ActionSetting { return &r.HPAAPIVersion }},
	{MinReplicas, []string{KindHPA, KindScaledObject}, []Action{Mutate, Deny, Warn, Off},
		"minReplicas is at least the configured minimum",
		func(r *RuleSettings) *ActionSetting { return &r.MinReplicas.ActionSetting }},
	{MemoryTarget, []string{KindHPA}, []Action{Mutate, Deny, Warn, Off},
		"a memory utilization target stands beside CPU",
		func(r *RuleSettings) *ActionSetting { return &r.MemoryTarget.ActionSetting }},
	{BehaviorDefaults, []string{KindHPA, KindScaledObject}, []Action{Mutate, Deny, Warn, Off},
		"scale up fast and down slowly unless the HPA says otherwise",
		func(r *RuleSettings) *ActionSetting { return &r.BehaviorDefaults.ActionSetting }},
	{BehaviorConsistency, []string{KindHPA, KindScaledObject}, []Action{Deny, Warn, Off},
		"behavior settings that can never work or move too slowly",
		func(r *RuleSettings) *ActionSetting { return &r.BehaviorConsistency.ActionSetting }},
	{TargetExists, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the HPA's scaleTargetRef names an existing workload",
		func(r *RuleSettings) *ActionSetting { return &r.TargetExists }},
	{ScaleTargetKind, []string{KindHPA}, []Action{Deny, Warn, Off},
		"the scale target's kind has a /scale subresource",
		func(r *RuleSettings) *ActionSetting { return &r.ScaleTargetKind }},
	{DuplicateHPA, []string{KindHPA, KindScaledObject}, []Action{Deny, Warn, Off},
		"one autoscaler (HPA or ScaledObject) per scale target",
		func(r *RuleSettings) *ActionSetting { return &r.DuplicateHPA }},
	{TargetRequests, []string{KindHPA, KindDeployment, KindStatefulSet, KindScaledObject}, []Action{Deny, Warn, Off},
		"the target requests every resource the HPA's metrics measure",
		func(r *RuleSettings) *ActionSetting { return &r.TargetRequests }},
	{UtilizationReachable, []string{KindHPA, KindDeployment, KindStatefulSet}, []Action{Deny, Warn, Off},
		"a utilization target the pods can reach under their limits",
		func(r *RuleSettings) *ActionSetting { return &r.UtilizationReachable }},
	{HPAVPAConflict, []string{KindHPA, KindVPA}, []Action{Deny, Warn, Off},
		"no VerticalPodAutoscaler changes the cpu or memory an HPA scales on",
		func(r *RuleSettings) *ActionSetting { return &r.HPAVPAConflict }},
	{MetricsAvailable, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the cluster serves the metrics APIs the HPA needs",
		func(r *RuleSettings) *ActionSetting { return &r.MetricsAvailable }},
	{CostCeiling, []string{KindHPA}, []Action{Off, Warn, Deny},
		"the most an HPA can cost a month stays within budget",
		func(r *RuleSettings) *ActionSetting { return &r.CostCeiling.ActionSetting }},
	{QuotaCeiling, []string{KindHPA}, []Action{Warn, Deny, Off},
		"maxReplicas pods fit in the namespace's ResourceQuota",
		func(r *RuleSettings) *ActionSetting { return &r.QuotaCeiling }},
	{DrainAtMinimum, []string{KindHPA}, []Action{Warn, Deny, Off},
		"a PodDisruptionBudget lets a node drain while the HPA is at its minimum",
		func(r *RuleSettings) *ActionSetting { return &r.DrainAtMinimum }},
	{SelectorOverlap, []string{KindHPA}, []Action{Warn, Deny, Off},
		"the target's selector counts its own pods only, and no other HPA's",
		func(r *RuleSettings) *ActionSetting { return &r.SelectorOverlap }},
	{HPAReplicasConflict, []string{KindDeployment, KindStatefulSet}, []Action{Warn, Mutate, Deny, Off},
		"a workload update does not reset the replica count its HPA manages",
		func(r *RuleSettings) *ActionSetting { return &r.HPAReplicasConflict }},
	{ExemptionReason, []string{KindDeployment, KindStatefulSet, KindHPA}, []Action{Warn, Deny, Off},
		"an exemption annotation names known rules and gives a reason",
		func(r *RuleSettings) *ActionSetting { return &r.ExemptionReason }},
}

// Catalogue returns a copy of the rule catalogue.
func Catalogue() []RuleInfo {
	return append([]RuleInfo(nil), catalogue...)
}

// Rule returns the catalogue's entry for id.
func Rule(id string) (RuleInfo, bool) {
	if i, ok := ruleIndex[id]; ok {
		return catalogue[i], true
	}
	return RuleInfo{}, false
}

// Known reports whether id names a rule.
func Known(id string) bool {
	_, ok := ruleIndex[id]
	return ok
}

// ruleIndex is each rule's position in the catalogue, built once: rules
// are looked up by ID for every finding and every Settings.Action.
var ruleIndex = func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, r := range catalogue {
		m[r.ID] = i
	}
	return m
}()

// ruleOrder is id's position in the catalogue, after every rule for an
// unknown id.
func ruleOrder(id string) int {
	if i, ok := ruleIndex[id]; ok {
		return i
	}
	return len(catalogue)
}

// Kinds the rules know.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindHPA         = "HorizontalPodAutoscaler"
)
