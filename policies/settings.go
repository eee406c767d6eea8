package policies

import (
	"errors"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Mode is the global switch used while rolling scaleguard out.
type Mode string

const (
	// Enforce applies every action as configured.
	Enforce Mode = "enforce"
	// WarnOnly turns every deny into a warning; mutations still apply.
	WarnOnly Mode = "warn"
)

// Settings are every number, action and exemption scaleguard uses. They come
// from one YAML file; the zero value is not useful, start from Defaults.
type Settings struct {
	// Mode is enforce or warn.
	Mode Mode `json:"mode"`
	// AllowExistingViolations turns a deny into a warning on UPDATE when the
	// old object already broke the same rule at the same place, so that an
	// object stored before scaleguard can still be rolled out.
	AllowExistingViolations bool `json:"allowExistingViolations"`
	// ExemptNamespaces are never looked at: not by the webhooks (their
	// namespaceSelector and matchConditions leave them out), the rules,
	// `scaleguard check` or the audit (NamespaceExempt).
	ExemptNamespaces []string `json:"exemptNamespaces"`
	// OptOutLabel on a namespace, set to "true", exempts it as if it were
	// listed in ExemptNamespaces: a namespace's owner can opt out without
	// editing scaleguard's settings.
	OptOutLabel string `json:"optOutLabel"`
	// ExemptionAnnotations allows objects to opt out of named rules with
	// scaleguard.io/exempt and scaleguard.io/exempt-reason.
	ExemptionAnnotations bool `json:"exemptionAnnotations"`
	// ExternallyManaged lists owners whose HPAs scaleguard validates but
	// never mutates: the owner would revert the patch and the two would
	// fight (KEDA rewrites the HPAs of its ScaledObjects).
	ExternallyManaged []OwnerKind `json:"externallyManaged"`
	// WorkloadKinds are custom resources judged like Deployments (see
	// WorkloadKind): none by default.
	WorkloadKinds []WorkloadKind `json:"workloadKinds"`
	// Audit configures the periodic scan of stored objects.
	Audit AuditSettings `json:"audit"`
	// Rules holds each rule's action and numbers, keyed by rule ID.
	Rules RuleSettings `json:"rules"`
	// Source names the standard these settings come from, such as
	// "ScalingStandard team-a/payments"; every finding made under them says
	// it. Empty for the settings file and the built-in standard.
	Source string `json:"-"`
}

// OwnerKind names a kind of owner by API group and kind.
type OwnerKind struct {
	APIGroup string `json:"apiGroup"`
	Kind     string `json:"kind"`
}

// AuditSettings configures the audit of objects already in the cluster.
type AuditSettings struct {
	// Enabled turns the audit on.
	Enabled bool `json:"enabled"`
	// IntervalSeconds is the time between two scans.
	IntervalSeconds int32 `json:"intervalSeconds"`
	// PolicyReports writes one wgpolicyk8s.io/v1alpha2 PolicyReport per
	// namespace when the API server serves that kind.
	PolicyReports bool `json:"policyReports"`
	// OpenReports writes one openreports.io/v1alpha1 Report per namespace,
	// with the same content, when the API server serves that kind.
	OpenReports bool `json:"openReports"`
}

// RuleSettings has one field per rule; the JSON keys are the rule IDs, and
// each rule's catalogue entry reaches its action (RuleInfo.Setting).
type RuleSettings struct {
	RequestsRequired     RequestsRequiredSettings    `json:"requests-required"`
	HPAAPIVersion        ActionSetting               `json:"hpa-api-version"`
	MinReplicas          MinReplicasSettings         `json:"min-replicas"`
	MemoryTarget         MemoryTargetSettings        `json:"memory-target"`
	BehaviorDefaults     BehaviorDefaultsSettings    `json:"behavior-defaults"`
	BehaviorConsistency  BehaviorConsistencySettings `json:"behavior-consistency"`
	ExemptionReason      ActionSetting               `json:"exemption-reason"`
	TargetExists         ActionSetting               `json:"target-exists"`
	TargetRequests       ActionSetting               `json:"target-requests"`
	UtilizationReachable ActionSetting               `json:"utilization-reachable"`
	HPAReplicasConflict  ActionSetting               `json:"hpa-replicas-conflict"`
	DuplicateHPA         ActionSetting               `json:"duplicate-hpa"`
	HPAVPAConflict       ActionSetting               `json:"hpa-vpa-conflict"`
	ScaleTargetKind      ActionSetting               `json:"scale-target-kind"`
	CostCeiling          CostCeilingSettings         `json:"cost-ceiling"`
	MetricsAvailable     ActionSetting               `json:"metrics-available"`
	QuotaCeiling         ActionSetting               `json:"quota-ceiling"`
	DrainAtMinimum       ActionSetting               `json:"drain-at-minimum"`
	SelectorOverlap      ActionSetting               `json:"selector-overlap"`
}

// CostCeilingSettings configures cost-ceiling: the most an HPA can cost a
// month is maxReplicas × one replica's requests × these prices.
type CostCeilingSettings struct {
	ActionSetting `json:",inline"`
	// CPUHourPrice is the price of one requested CPU for an hour.
	CPUHourPrice float64 `json:"cpuHourPrice"`
	// MemoryGiBHourPrice is the price of one requested GiB of memory for an hour.
	MemoryGiBHourPrice float64 `json:"memoryGiBHourPrice"`
	// MonthlyBudget is the most one HPA may cost a month; 0 means no
	// budget, only the figure in a warning.
	MonthlyBudget float64 `json:"monthlyBudget"`
	// Currency is printed beside the figures.
	Currency string `json:"currency"`
	// HoursPerMonth converts hourly prices (730 = 8760 / 12).
	HoursPerMonth float64 `json:"hoursPerMonth"`
}

// ActionSetting is the part every rule has.
type ActionSetting struct {
	Action Action `json:"action"`
}

// RequestsRequiredSettings configures requests-required.
type RequestsRequiredSettings struct {
	ActionSetting `json:",inline"`
	// Resources every container must request.
	Resources []corev1.ResourceName `json:"resources"`
}

// MinReplicasSettings configures min-replicas.
type MinReplicasSettings struct {
	ActionSetting `json:",inline"`
	Minimum       int32 `json:"minimum"`
}

// MemoryTargetSettings configures memory-target.
type MemoryTargetSettings struct {
	ActionSetting      `json:",inline"`
	AverageUtilization int32 `json:"averageUtilization"`
}

// BehaviorDefaultsSettings configures behavior-defaults.
type BehaviorDefaultsSettings struct {
	ActionSetting `json:",inline"`
	// Behavior is the block injected when an HPA has none.
	Behavior autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
}

// BehaviorConsistencySettings configures behavior-consistency.
type BehaviorConsistencySettings struct {
	ActionSetting `json:",inline"`
	// MaxScaleUpSeconds is the longest acceptable fastest path from
	// minReplicas to maxReplicas.
	MaxScaleUpSeconds int32 `json:"maxScaleUpSeconds"`
	// MaxScaleDownSeconds is the same from maxReplicas to minReplicas.
	MaxScaleDownSeconds int32 `json:"maxScaleDownSeconds"`
	// SyncPeriodSeconds is the HPA controller's sync period
	// (--horizontal-pod-autoscaler-sync-period).
	SyncPeriodSeconds int32 `json:"syncPeriodSeconds"`
	// DownscaleStabilizationSeconds is the controller's default scale-down
	// window (--horizontal-pod-autoscaler-downscale-stabilization), used when
	// an HPA sets none.
	DownscaleStabilizationSeconds int32 `json:"downscaleStabilizationSeconds"`
}

// Defaults returns the standard from the design card. Every rule's action
// is its catalogue default (RuleInfo.Default); the literal below holds only
// the numbers.
func Defaults() Settings {
	s := Settings{
		Mode:                    Enforce,
		AllowExistingViolations: true,
		ExemptNamespaces:        []string{"kube-system"},
		OptOutLabel:             DefaultOptOutLabel,
		ExemptionAnnotations:    true,
		Rules: RuleSettings{
			RequestsRequired: RequestsRequiredSettings{
				Resources: []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory},
			},
			MinReplicas:      MinReplicasSettings{Minimum: 2},
			MemoryTarget:     MemoryTargetSettings{AverageUtilization: 80},
			BehaviorDefaults: BehaviorDefaultsSettings{Behavior: StandardBehavior()},
			BehaviorConsistency: BehaviorConsistencySettings{
				MaxScaleUpSeconds:             300,
				MaxScaleDownSeconds:           3600,
				SyncPeriodSeconds:             15,
				DownscaleStabilizationSeconds: 300,
			},
			CostCeiling: CostCeilingSettings{
				CPUHourPrice:       0.0316,
				MemoryGiBHourPrice: 0.0042,
				Currency:           "USD",
				HoursPerMonth:      730,
			},
		},
		ExternallyManaged: []OwnerKind{{APIGroup: "keda.sh", Kind: "ScaledObject"}},
		WorkloadKinds:     []WorkloadKind{},
		Audit:             AuditSettings{Enabled: true, IntervalSeconds: 300, PolicyReports: true},
	}
	for _, r := range catalogue {
		r.Setting(&s.Rules).Action = r.Default()
	}
	return s
}

// StandardBehavior is the design card's behavior block: scale up fast
// (double or +2 pods every 30 s, whichever is more, no window) and down
// slowly (half every minute after five stable minutes).
func StandardBehavior() autoscalingv2.HorizontalPodAutoscalerBehavior {
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	return autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](0),
			SelectPolicy:               &maxPolicy,
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 30},
				{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 30},
			},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](300),
			SelectPolicy:               &maxPolicy,
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60},
			},
		},
	}
}

// ParseSettings reads a settings file over the defaults: keys left out keep
// their default. Unknown keys are errors that name the key; values that do
// not validate are an *InvalidSettingsError, every problem at its key.
func ParseSettings(data []byte) (Settings, error) {
	s := Defaults()
	// The standard behavior is replaced whole when the file gives one, so
	// that a file's block is not merged with the default's policies.
	s.Rules.BehaviorDefaults.Behavior = autoscalingv2.HorizontalPodAutoscalerBehavior{}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Settings{}, fmt.Errorf("settings: not valid YAML: %w", err)
	}
	if len(js) > 0 && string(js) != "null" {
		// The strict decoder names unknown and duplicate keys by their full
		// path (rules.min-replicas.minimun), which is what a user needs.
		strict, err := kjson.UnmarshalStrict(js, &s, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err != nil {
			return Settings{}, fmt.Errorf("settings: %w", err)
		}
		if len(strict) > 0 {
			return Settings{}, fmt.Errorf("settings: %w", errors.Join(strict...))
		}
	}
	if s.Rules.BehaviorDefaults.Behavior.ScaleUp == nil && s.Rules.BehaviorDefaults.Behavior.ScaleDown == nil {
		s.Rules.BehaviorDefaults.Behavior = StandardBehavior()
	}
	if errs := s.Validate(); len(errs) > 0 {
		return Settings{}, &InvalidSettingsError{Errs: errs}
	}
	return s, nil
}

// Action returns the configured action for a rule ID (off for an unknown one).
func (s *Settings) Action(id string) Action {
	if r, ok := Rule(id); ok {
		return r.Setting(&s.Rules).Action
	}
	return Off
}

// SetAction sets the action of rule id, and reports whether id names a rule.
func (s *Settings) SetAction(id string, a Action) bool {
	r, ok := Rule(id)
	if ok {
		r.Setting(&s.Rules).Action = a
	}
	return ok
}

// IsExemptNamespace reports whether ns is listed as exempt. A namespace
// may also be exempt by its label: see NamespaceExempt.
func (s *Settings) IsExemptNamespace(ns string) bool {
	for _, e := range s.ExemptNamespaces {
		if e == ns {
			return true
		}
	}
	return false
}
