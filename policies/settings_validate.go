package policies

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// InvalidSettingsError is ParseSettings' error for settings that read but
// do not validate. Errs are at the paths of the settings file's keys
// (rules.min-replicas.minimum); an API object holding the settings under
// another field re-roots them there.
type InvalidSettingsError struct {
	Errs field.ErrorList
}

// Error puts each problem on its own line, as a user fixes them one by one.
func (e *InvalidSettingsError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		lines[i] = "settings: " + fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Validate checks every value and reports all problems at once, each at
// the path of the key that holds it.
func (s *Settings) Validate() field.ErrorList {
	var errs field.ErrorList
	if s.Mode != Enforce && s.Mode != WarnOnly {
		errs = append(errs, field.NotSupported(field.NewPath("mode"), s.Mode, []Mode{Enforce, WarnOnly}))
	}
	for i, ns := range s.ExemptNamespaces {
		if strings.TrimSpace(ns) == "" {
			errs = append(errs, field.Required(field.NewPath("exemptNamespaces").Index(i), "a namespace name; remove the empty entry"))
		}
	}
	if problems := validation.IsQualifiedName(s.OptOutLabel); len(problems) > 0 {
		errs = append(errs, field.Invalid(field.NewPath("optOutLabel"), s.OptOutLabel,
			fmt.Sprintf("not a label key (%s): write one such as %s", strings.Join(problems, "; "), DefaultOptOutLabel)))
	}
	for i, o := range s.ExternallyManaged {
		if o.Kind == "" {
			errs = append(errs, field.Required(field.NewPath("externallyManaged").Index(i).Child("kind"), "the owner's kind, e.g. ScaledObject"))
		}
	}
	errs = append(errs, validateWorkloadKinds(s.WorkloadKinds, field.NewPath("workloadKinds"))...)
	if s.Audit.IntervalSeconds < 10 {
		errs = append(errs, field.Invalid(field.NewPath("audit", "intervalSeconds"), s.Audit.IntervalSeconds, "must be at least 10"))
	}
	return append(errs, s.Rules.validate(field.NewPath("rules"))...)
}

// validate checks every rule's action against the catalogue, and the
// numbers of the rules that have some.
func (r *RuleSettings) validate(rules *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, info := range catalogue {
		if a := info.Setting(r).Action; !info.Allows(a) {
			errs = append(errs, field.NotSupported(rules.Child(info.ID, "action"), a, info.Actions))
		}
	}

	for i, name := range r.RequestsRequired.Resources {
		if name == "" {
			errs = append(errs, field.Required(rules.Child(RequestsRequired, "resources").Index(i), "a resource name such as cpu or memory"))
		}
	}
	if m := r.MinReplicas.Minimum; m < 1 {
		errs = append(errs, field.Invalid(rules.Child(MinReplicas, "minimum"), m, "must be at least 1"))
	}
	if u := r.MemoryTarget.AverageUtilization; u < 1 || u > 1000 {
		errs = append(errs, field.Invalid(rules.Child(MemoryTarget, "averageUtilization"), u, "must be between 1 and 1000 (percent)"))
	}
	errs = append(errs, validateBehavior(r.BehaviorDefaults.Behavior, rules.Child(BehaviorDefaults, "behavior"))...)

	c, consistency := r.BehaviorConsistency, rules.Child(BehaviorConsistency)
	if c.MaxScaleUpSeconds < 1 {
		errs = append(errs, field.Invalid(consistency.Child("maxScaleUpSeconds"), c.MaxScaleUpSeconds, "must be at least 1"))
	}
	if c.MaxScaleDownSeconds < 1 {
		errs = append(errs, field.Invalid(consistency.Child("maxScaleDownSeconds"), c.MaxScaleDownSeconds, "must be at least 1"))
	}
	if c.SyncPeriodSeconds < 1 || c.SyncPeriodSeconds > 600 {
		errs = append(errs, field.Invalid(consistency.Child("syncPeriodSeconds"), c.SyncPeriodSeconds, "must be between 1 and 600"))
	}
	if c.DownscaleStabilizationSeconds < 0 || c.DownscaleStabilizationSeconds > 3600 {
		errs = append(errs, field.Invalid(consistency.Child("downscaleStabilizationSeconds"), c.DownscaleStabilizationSeconds, "must be between 0 and 3600"))
	}

	cc, cost := r.CostCeiling, rules.Child(CostCeiling)
	for _, f := range []struct {
		key   string
		value float64
	}{{"cpuHourPrice", cc.CPUHourPrice}, {"memoryGiBHourPrice", cc.MemoryGiBHourPrice}, {"monthlyBudget", cc.MonthlyBudget}} {
		if f.value < 0 {
			errs = append(errs, field.Invalid(cost.Child(f.key), f.value, "cannot be negative"))
		}
	}
	if h := cc.HoursPerMonth; h <= 0 || h > 744 {
		errs = append(errs, field.Invalid(cost.Child("hoursPerMonth"), h, "must be more than 0 and at most 744 (a 31-day month); 730 is a year's average"))
	}
	return errs
}

// validateBehavior applies the API server's own limits to the configured
// block, so scaleguard never injects something the API server would refuse.
func validateBehavior(b autoscalingv2.HorizontalPodAutoscalerBehavior, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(dir *field.Path, r *autoscalingv2.HPAScalingRules) {
		if r == nil {
			errs = append(errs, field.Required(dir, "give stabilizationWindowSeconds, selectPolicy and policies"))
			return
		}
		switch w := r.StabilizationWindowSeconds; {
		case w == nil:
			errs = append(errs, field.Required(dir.Child("stabilizationWindowSeconds"), "between 0 and 3600"))
		case *w < 0 || *w > 3600:
			errs = append(errs, field.Invalid(dir.Child("stabilizationWindowSeconds"), *w, "must be between 0 and 3600"))
		}
		selects := []autoscalingv2.ScalingPolicySelect{autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect}
		switch p := r.SelectPolicy; {
		case p == nil:
			errs = append(errs, field.Required(dir.Child("selectPolicy"), "Max or Min"))
		case !slices.Contains(selects, *p):
			e := field.NotSupported(dir.Child("selectPolicy"), *p, selects)
			e.Detail += " (a Disabled default would stop every HPA)"
			errs = append(errs, e)
		}
		if len(r.Policies) == 0 {
			errs = append(errs, field.Required(dir.Child("policies"), "at least one policy, e.g. {type: Pods, value: 4, periodSeconds: 60}"))
		}
		for i, p := range r.Policies {
			at := dir.Child("policies").Index(i)
			if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
				errs = append(errs, field.NotSupported(at.Child("type"), p.Type,
					[]autoscalingv2.HPAScalingPolicyType{autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy}))
			}
			if p.Value <= 0 {
				errs = append(errs, field.Invalid(at.Child("value"), p.Value, "must be greater than 0"))
			}
			if p.PeriodSeconds <= 0 || p.PeriodSeconds > 1800 {
				errs = append(errs, field.Invalid(at.Child("periodSeconds"), p.PeriodSeconds, "must be between 1 and 1800"))
			}
		}
	}
	check(path.Child("scaleUp"), b.ScaleUp)
	check(path.Child("scaleDown"), b.ScaleDown)
	return errs
}
