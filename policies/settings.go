package policies

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
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

// RuleSettings has one field per rule; the JSON keys are the rule IDs.
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

// Defaults returns the standard from the design card.
func Defaults() Settings {
	return Settings{
		Mode:                    Enforce,
		AllowExistingViolations: true,
		ExemptNamespaces:        []string{"kube-system"},
		OptOutLabel:             DefaultOptOutLabel,
		ExemptionAnnotations:    true,
		Rules: RuleSettings{
			RequestsRequired: RequestsRequiredSettings{
				ActionSetting: ActionSetting{Deny},
				Resources:     []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory},
			},
			HPAAPIVersion:    ActionSetting{Deny},
			MinReplicas:      MinReplicasSettings{ActionSetting{Mutate}, 2},
			MemoryTarget:     MemoryTargetSettings{ActionSetting{Mutate}, 80},
			BehaviorDefaults: BehaviorDefaultsSettings{ActionSetting{Mutate}, StandardBehavior()},
			BehaviorConsistency: BehaviorConsistencySettings{
				ActionSetting:                 ActionSetting{Deny},
				MaxScaleUpSeconds:             300,
				MaxScaleDownSeconds:           3600,
				SyncPeriodSeconds:             15,
				DownscaleStabilizationSeconds: 300,
			},
			ExemptionReason:      ActionSetting{Warn},
			TargetExists:         ActionSetting{Warn},
			TargetRequests:       ActionSetting{Deny},
			UtilizationReachable: ActionSetting{Deny},
			HPAReplicasConflict:  ActionSetting{Warn},
			DuplicateHPA:         ActionSetting{Deny},
			HPAVPAConflict:       ActionSetting{Deny},
			ScaleTargetKind:      ActionSetting{Deny},
			CostCeiling: CostCeilingSettings{
				ActionSetting:      ActionSetting{Off},
				CPUHourPrice:       0.0316,
				MemoryGiBHourPrice: 0.0042,
				Currency:           "USD",
				HoursPerMonth:      730,
			},
			MetricsAvailable: ActionSetting{Warn},
			QuotaCeiling:     ActionSetting{Warn},
			DrainAtMinimum:   ActionSetting{Warn},
			SelectorOverlap:  ActionSetting{Warn},
		},
		ExternallyManaged: []OwnerKind{{APIGroup: "keda.sh", Kind: "ScaledObject"}},
		WorkloadKinds:     []WorkloadKind{},
		Audit:             AuditSettings{Enabled: true, IntervalSeconds: 300, PolicyReports: true},
	}
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
// their default. Unknown keys and bad values are errors that name the key.
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
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Validate checks every value and reports all problems at once, each with
// the key that holds it.
func (s *Settings) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("settings: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if s.Mode != Enforce && s.Mode != WarnOnly {
		bad("mode", "%q is not a mode: use enforce or warn", s.Mode)
	}
	for i, ns := range s.ExemptNamespaces {
		if strings.TrimSpace(ns) == "" {
			bad(fmt.Sprintf("exemptNamespaces[%d]", i), "empty namespace name")
		}
	}
	if problems := validation.IsQualifiedName(s.OptOutLabel); len(problems) > 0 {
		bad("optOutLabel", "%q is not a label key (%s): write one such as %s", s.OptOutLabel, strings.Join(problems, "; "), DefaultOptOutLabel)
	}
	r := &s.Rules
	// Every rule's action, read through action() so that a rule added to the
	// catalogue is checked without another list to keep in step.
	for _, info := range catalogue {
		if a := s.Action(info.ID); !slices.Contains(info.Actions, a) {
			bad("rules."+info.ID+".action", "%q is not allowed: use one of %s", a, joinActions(info.Actions))
		}
	}
	cc := r.CostCeiling
	if cc.CPUHourPrice < 0 || cc.MemoryGiBHourPrice < 0 || cc.MonthlyBudget < 0 {
		bad("rules."+CostCeiling, "prices and budget cannot be negative")
	}
	if cc.HoursPerMonth <= 0 || cc.HoursPerMonth > 744 {
		bad("rules."+CostCeiling+".hoursPerMonth", "must be between 1 and 744, got %g", cc.HoursPerMonth)
	}
	for i, o := range s.ExternallyManaged {
		if o.Kind == "" {
			bad(fmt.Sprintf("externallyManaged[%d].kind", i), "required")
		}
	}
	for _, e := range validateWorkloadKinds(s.WorkloadKinds) {
		bad(e.key, "%s", e.msg)
	}
	if s.Audit.IntervalSeconds < 10 {
		bad("audit.intervalSeconds", "must be at least 10, got %d", s.Audit.IntervalSeconds)
	}

	for i, name := range r.RequestsRequired.Resources {
		if name == "" {
			bad(fmt.Sprintf("rules.%s.resources[%d]", RequestsRequired, i), "empty resource name")
		}
	}
	if r.MinReplicas.Minimum < 1 {
		bad("rules."+MinReplicas+".minimum", "must be at least 1, got %d", r.MinReplicas.Minimum)
	}
	if u := r.MemoryTarget.AverageUtilization; u < 1 || u > 1000 {
		bad("rules."+MemoryTarget+".averageUtilization", "must be between 1 and 1000 (percent), got %d", u)
	}
	for _, e := range validateBehavior(r.BehaviorDefaults.Behavior) {
		bad("rules."+BehaviorDefaults+".behavior."+e.key, "%s", e.msg)
	}
	c := r.BehaviorConsistency
	if c.MaxScaleUpSeconds < 1 {
		bad("rules."+BehaviorConsistency+".maxScaleUpSeconds", "must be at least 1, got %d", c.MaxScaleUpSeconds)
	}
	if c.MaxScaleDownSeconds < 1 {
		bad("rules."+BehaviorConsistency+".maxScaleDownSeconds", "must be at least 1, got %d", c.MaxScaleDownSeconds)
	}
	if c.SyncPeriodSeconds < 1 || c.SyncPeriodSeconds > 600 {
		bad("rules."+BehaviorConsistency+".syncPeriodSeconds", "must be between 1 and 600, got %d", c.SyncPeriodSeconds)
	}
	if c.DownscaleStabilizationSeconds < 0 || c.DownscaleStabilizationSeconds > 3600 {
		bad("rules."+BehaviorConsistency+".downscaleStabilizationSeconds", "must be between 0 and 3600, got %d", c.DownscaleStabilizationSeconds)
	}
	return errors.Join(errs...)
}

type keyError struct{ key, msg string }

// validateBehavior applies the API server's own limits to the configured
// block, so scaleguard never injects something the API server would refuse.
func validateBehavior(b autoscalingv2.HorizontalPodAutoscalerBehavior) []keyError {
	var errs []keyError
	check := func(dir string, r *autoscalingv2.HPAScalingRules) {
		if r == nil {
			errs = append(errs, keyError{dir, "missing: give stabilizationWindowSeconds, selectPolicy and policies"})
			return
		}
		if w := r.StabilizationWindowSeconds; w == nil || *w < 0 || *w > 3600 {
			errs = append(errs, keyError{dir + ".stabilizationWindowSeconds", "must be set, between 0 and 3600"})
		}
		if p := r.SelectPolicy; p == nil || (*p != autoscalingv2.MaxChangePolicySelect && *p != autoscalingv2.MinChangePolicySelect) {
			errs = append(errs, keyError{dir + ".selectPolicy", "must be Max or Min (a Disabled default would stop every HPA)"})
		}
		if len(r.Policies) == 0 {
			errs = append(errs, keyError{dir + ".policies", "needs at least one policy"})
		}
		for i, p := range r.Policies {
			key := fmt.Sprintf("%s.policies[%d]", dir, i)
			if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
				errs = append(errs, keyError{key + ".type", fmt.Sprintf("%q: use Pods or Percent", p.Type)})
			}
			if p.Value <= 0 {
				errs = append(errs, keyError{key + ".value", "must be greater than 0"})
			}
			if p.PeriodSeconds <= 0 || p.PeriodSeconds > 1800 {
				errs = append(errs, keyError{key + ".periodSeconds", "must be between 1 and 1800"})
			}
		}
	}
	check("scaleUp", b.ScaleUp)
	check("scaleDown", b.ScaleDown)
	return errs
}

func joinActions(as []Action) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// Action returns the configured action for a rule ID (off for an unknown one).
func (s *Settings) Action(id string) Action {
	if a := s.action(id); a != nil {
		return *a
	}
	return Off
}

// SetAction sets the action of rule id, and reports whether id names a rule.
func (s *Settings) SetAction(id string, a Action) bool {
	p := s.action(id)
	if p != nil {
		*p = a
	}
	return p != nil
}

// action is where the action of rule id is kept, nil for an unknown id.
func (s *Settings) action(id string) *Action {
	r := &s.Rules
	switch id {
	case RequestsRequired:
		return &r.RequestsRequired.Action
	case HPAAPIVersion:
		return &r.HPAAPIVersion.Action
	case MinReplicas:
		return &r.MinReplicas.Action
	case MemoryTarget:
		return &r.MemoryTarget.Action
	case BehaviorDefaults:
		return &r.BehaviorDefaults.Action
	case BehaviorConsistency:
		return &r.BehaviorConsistency.Action
	case ExemptionReason:
		return &r.ExemptionReason.Action
	case TargetExists:
		return &r.TargetExists.Action
	case TargetRequests:
		return &r.TargetRequests.Action
	case UtilizationReachable:
		return &r.UtilizationReachable.Action
	case HPAReplicasConflict:
		return &r.HPAReplicasConflict.Action
	case DuplicateHPA:
		return &r.DuplicateHPA.Action
	case HPAVPAConflict:
		return &r.HPAVPAConflict.Action
	case ScaleTargetKind:
		return &r.ScaleTargetKind.Action
	case CostCeiling:
		return &r.CostCeiling.Action
	case MetricsAvailable:
		return &r.MetricsAvailable.Action
	case QuotaCeiling:
		return &r.QuotaCeiling.Action
	case DrainAtMinimum:
		return &r.DrainAtMinimum.Action
	case SelectorOverlap:
		return &r.SelectorOverlap.Action
	}
	return nil
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
