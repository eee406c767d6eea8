// Package standards turns the scaleguard.io/v1alpha1 objects into the
// settings the rules read: Resolve is the one pure function that computes
// a namespace's effective standard, and Store keeps what the informers
// see, ready for every review.
package standards

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// Cluster is a valid ClusterScalingStandard, read once: its settings, the
// namespaces it selects and the bounds of their overrides.
type Cluster struct {
	Name string
	// Selector is nil for the default standard.
	Selector labels.Selector
	Settings policies.Settings
	Bounds   v1alpha1.OverrideBounds
}

// Source names the standard in findings: "ClusterScalingStandard default".
func (c *Cluster) Source() string { return "ClusterScalingStandard " + c.Name }

// ParseCluster reads a ClusterScalingStandard; an error names the field
// and what to write instead.
func ParseCluster(obj *v1alpha1.ClusterScalingStandard) (*Cluster, error) {
	c := &Cluster{Name: obj.Name}
	var errs []error
	settings, err := obj.Spec.Standard.Settings()
	if err != nil {
		errs = append(errs, err)
	}
	c.Settings = settings
	if obj.Spec.Overrides != nil {
		c.Bounds = *obj.Spec.Overrides
	}
	if obj.Spec.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(obj.Spec.NamespaceSelector)
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.namespaceSelector: %w", err))
		}
		c.Selector = sel
	}
	// The CRD says the same; an object stored before the CRD did, or read
	// from a file, is checked here.
	if (obj.Name == v1alpha1.DefaultName) != (obj.Spec.NamespaceSelector == nil) {
		errs = append(errs, errors.New("spec.namespaceSelector: the standard named default takes none; any other needs one"))
	}
	for i, id := range c.Bounds.RelaxableRules {
		if !policies.Known(string(id)) {
			errs = append(errs, fmt.Errorf("spec.overrides.relaxableRules[%d]: %q is not a rule (docs/rules.md lists them)", i, id))
		}
	}
	if f := c.Bounds.MinReplicasFloor; f != nil && err == nil && *f > settings.Rules.MinReplicas.Minimum {
		errs = append(errs, fmt.Errorf("spec.overrides.minReplicasFloor: %d is above rules.min-replicas.minimum %d; lower it", *f, settings.Rules.MinReplicas.Minimum))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ClusterScalingStandard %s: %w", obj.Name, err)
	}
	c.Settings.Source = c.Source()
	return c, nil
}

// Select returns the standard that applies to a namespace with these
// labels: the first by name of those whose selector matches it, else the
// default, else nil (no standard exists).
func Select(clusters []*Cluster, nsLabels map[string]string) *Cluster {
	var def *Cluster
	var chosen *Cluster
	for _, c := range clusters {
		switch {
		case c.Selector == nil:
			def = c
		case c.Selector.Matches(labels.Set(nsLabels)) && (chosen == nil || c.Name < chosen.Name):
			chosen = c
		}
	}
	if chosen != nil {
		return chosen
	}
	return def
}

// Effective is the standard a namespace is judged with.
type Effective struct {
	// Settings carry their Source.
	Settings *policies.Settings
	// Cluster is the cluster standard it derives from; nil when none
	// exists and the fallback applies.
	Cluster *Cluster
}

// Resolve computes the effective standard of a namespace from the valid
// cluster standards, the namespace's labels and its ScalingStandard (nil
// when it has none). fallback applies when no cluster standard exists:
// the settings file, or the built-in standard — never "no rules". The
// settings that are cluster-wide (exemptNamespaces, optOutLabel,
// workloadKinds, audit) always come from the default standard, or from
// fallback without one.
//
// An override outside the cluster standard's bounds is an error that
// names the field and the bound; the Effective returned with it is the
// standard without the override.
func Resolve(fallback *policies.Settings, clusters []*Cluster, nsLabels map[string]string, override *v1alpha1.ScalingStandard) (Effective, error) {
	return resolveWith(fallback, clusters, Select(clusters, nsLabels), override)
}

// resolveWith is Resolve once the cluster standard c (nil for none) is
// chosen among clusters.
func resolveWith(fallback *policies.Settings, clusters []*Cluster, c *Cluster, override *v1alpha1.ScalingStandard) (Effective, error) {
	global := fallback
	for _, cl := range clusters {
		if cl.Selector == nil {
			global = &cl.Settings
		}
	}
	base := fallback
	if c != nil {
		s := c.Settings
		s.ExemptNamespaces, s.OptOutLabel, s.WorkloadKinds, s.Audit = global.ExemptNamespaces, global.OptOutLabel, global.WorkloadKinds, global.Audit
		base = &s
	}
	eff := Effective{Settings: base, Cluster: c}
	if override == nil {
		return eff, nil
	}
	s, err := applyOverride(*base, boundsOf(c, base), boundsSource(c), override)
	if err != nil {
		return eff, fmt.Errorf("ScalingStandard %s/%s: %w", override.Namespace, override.Name, err)
	}
	s.Source = "ScalingStandard " + override.Namespace + "/" + override.Name
	return Effective{Settings: &s, Cluster: c}, nil
}

// boundsOf are c's bounds, or without a cluster standard those of an
// empty overrides block: stricter only.
func boundsOf(c *Cluster, base *policies.Settings) v1alpha1.OverrideBounds {
	var b v1alpha1.OverrideBounds
	if c != nil {
		b = c.Bounds
	}
	if b.MinReplicasFloor == nil {
		b.MinReplicasFloor = ptr.To(base.Rules.MinReplicas.Minimum)
	}
	return b
}

func boundsSource(c *Cluster) string {
	if c == nil {
		return "the built-in standard (no ClusterScalingStandard exists)"
	}
	return c.Source()
}

// strictness orders actions for the bounds: deny and mutate both enforce.
func strictness(a policies.Action) int {
	switch a {
	case policies.Deny, policies.Mutate:
		return 2
	case policies.Warn:
		return 1
	}
	return 0
}

// applyOverride applies o to s within bounds b of the standard named by
// from; it reports every override out of bounds.
func applyOverride(s policies.Settings, b v1alpha1.OverrideBounds, from string, o *v1alpha1.ScalingStandard) (policies.Settings, error) {
	var errs []error
	outOf := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s (bound set by %s)", field, fmt.Sprintf(format, args...), from))
	}
	spec := &o.Spec
	if spec.Mode != nil {
		m := policies.Mode(*spec.Mode)
		if m == policies.WarnOnly && s.Mode != policies.WarnOnly && !b.WarnMode {
			outOf("spec.mode", "warn is not allowed: overrides.warnMode is false; relax single rules under spec.actions if overrides.relaxableRules lists them")
		}
		s.Mode = m
	}
	if spec.MinReplicas != nil {
		if m := *spec.MinReplicas; m < *b.MinReplicasFloor {
			outOf("spec.minReplicas", "%d is below overrides.minReplicasFloor %d; set at least %d", m, *b.MinReplicasFloor, *b.MinReplicasFloor)
		}
		s.Rules.MinReplicas.Minimum = *spec.MinReplicas
	}
	for _, ra := range spec.Actions {
		at := fmt.Sprintf("spec.actions[rule=%s].action", ra.Rule)
		id, a := string(ra.Rule), policies.Action(ra.Action)
		info, ok := policies.Rule(id)
		if !ok {
			errs = append(errs, fmt.Errorf("spec.actions[rule=%s]: not a rule (docs/rules.md lists them)", id))
			continue
		}
		if !info.Allows(a) {
			errs = append(errs, fmt.Errorf("%s: %s cannot be %q: use one of %s", at, id, a, actionList(info.Actions)))
			continue
		}
		was := s.Action(id)
		if strictness(a) < strictness(was) && (a == policies.Off || !slices.Contains(b.RelaxableRules, ra.Rule)) {
			outOf(at, "%s may not go from %s to %s: overrides.relaxableRules does not list it", id, was, a)
		}
		s.SetAction(id, a)
	}
	if spec.Behavior != nil {
		if !b.ReplaceBehavior {
			outOf("spec.behavior", "the behavior may not be replaced: overrides.replaceBehavior is false")
		} else {
			s.Rules.BehaviorDefaults.Behavior = *spec.Behavior.DeepCopy()
			errs = append(errs, behaviorConsistent(&s)...)
		}
	}
	errs = append(errs, overrideFields(s.Validate())...)
	return s, errors.Join(errs...)
}

// overrideFields puts the settings' validation errors at the fields of a
// ScalingStandard that set them. The override changes only the mode, the
// minimum, actions and the behavior, over settings already valid, so any
// other path is reported as the settings name it.
func overrideFields(errs field.ErrorList) []error {
	if len(errs) == 0 {
		return nil
	}
	rules := field.NewPath("rules")
	behavior := rules.Child(policies.BehaviorDefaults, "behavior").String()
	at := map[string]string{
		"mode": "spec.mode",
		rules.Child(policies.MinReplicas, "minimum").String(): "spec.minReplicas",
	}
	for _, r := range policies.Catalogue() {
		at[rules.Child(r.ID, "action").String()] = fmt.Sprintf("spec.actions[rule=%s].action", r.ID)
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		moved := *e
		if f, ok := at[e.Field]; ok {
			moved.Field = f
		} else if rest, ok := strings.CutPrefix(e.Field, behavior); ok {
			moved.Field = "spec.behavior" + rest
		} else {
			out = append(out, fmt.Errorf("spec: %w", e))
			continue
		}
		out = append(out, &moved)
	}
	return out
}

// behaviorConsistent judges a replacement behavior block as
// behavior-consistency judges an HPA carrying it, from the namespace's
// minReplicas to ten times that: a block that can never move, or moves
// slower than the standard allows, is refused.
func behaviorConsistent(s *policies.Settings) []error {
	lo := s.Rules.MinReplicas.Minimum
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "behavior-check", Namespace: "behavior-check"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: policies.KindDeployment, Name: "behavior-check"},
			MinReplicas:    ptr.To(lo),
			MaxReplicas:    10 * lo,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}},
			Behavior: s.Rules.BehaviorDefaults.Behavior.DeepCopy(),
		},
	}
	check := policies.Defaults()
	check.Rules.BehaviorConsistency = s.Rules.BehaviorConsistency
	check.Rules.BehaviorConsistency.Action = policies.Deny
	check.ExemptNamespaces = nil
	var errs []error
	for _, f := range policies.EvaluateHPA(policies.HPAReview{Object: hpa, Final: true}, &check).Findings {
		if f.Rule == policies.BehaviorConsistency {
			errs = append(errs, fmt.Errorf("spec.behavior: fails behavior-consistency between %d and %d replicas: %s", lo, 10*lo,
				strings.TrimPrefix(f.Path.String()+": "+f.Message, "spec.behavior.")))
		}
	}
	return errs
}

func actionList(as []policies.Action) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
