package celpolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

// policySettings are settingsVariants and the settings that change what
// the policies say rather than whether the webhook is called: warn mode,
// rules set to warn, exemptions off, no softening on update.
func policySettings() map[string]*policies.Settings {
	out := settingsVariants()
	warnMode := policies.Defaults()
	warnMode.Mode = policies.WarnOnly
	out["warn mode"] = &warnMode
	warnRules := policies.Defaults()
	for _, a := range []*policies.Action{&warnRules.Rules.RequestsRequired.Action, &warnRules.Rules.HPAAPIVersion.Action,
		&warnRules.Rules.MinReplicas.Action, &warnRules.Rules.MemoryTarget.Action, &warnRules.Rules.BehaviorDefaults.Action,
		&warnRules.Rules.BehaviorConsistency.Action} {
		*a = policies.Warn
	}
	warnRules.Rules.ExemptionReason.Action = policies.Deny
	out["rules warn, exemption-reason deny"] = &warnRules
	noExemptions := policies.Defaults()
	noExemptions.ExemptionAnnotations = false
	noExemptions.AllowExistingViolations = false
	out["exemption annotations off, no existing violations allowed"] = &noExemptions
	return out
}

// exemptedVariants are objects with the annotations exemptions read: a
// reasoned exemption from one rule, from all, one without a reason, one
// naming unknown rules (one with a character %q escapes).
func exemptedVariants(obj runtime.Object) []runtime.Object {
	var out []runtime.Object
	for _, a := range []map[string]string{
		{policies.AnnotationExempt: policies.RequestsRequired + "," + policies.MinReplicas, policies.AnnotationExemptReason: "vendor image"},
		{policies.AnnotationExempt: "*", policies.AnnotationExemptReason: "legacy"},
		{policies.AnnotationExempt: policies.BehaviorDefaults, policies.AnnotationExemptReason: "  "},
		{policies.AnnotationExempt: " memory-target , request-required,\"quoted\\\", ", policies.AnnotationExemptReason: "x"},
	} {
		o := obj.DeepCopyObject()
		o.(metav1.Object).SetAnnotations(a)
		out = append(out, o)
	}
	return out
}

// writes are the requests each object of the corpus is judged in:
// created, updated over itself (every violation already there) and over
// the standard HPA or a compliant workload (none there); an HPA also
// created as autoscaling/v1. The rule tests' objects (oddWorkloads,
// oddHPAs, consistencyHPAs) are also judged with exemption annotations.
//
// With full false only the rule tests' objects are judged.
func writes(t *testing.T, full bool) []write {
	workloads, hpas := corpus(t)
	hpas = append(hpas, consistencyHPAs()...)
	if !full {
		workloads, hpas = oddWorkloads(), append(oddHPAs(), consistencyHPAs()...)
	}
	odd := oddWorkloads()
	for _, h := range append(oddHPAs(), consistencyHPAs()...) {
		odd = append(odd, h)
	}
	variants := func(o runtime.Object) []runtime.Object {
		if slices.ContainsFunc(odd, func(x runtime.Object) bool { return equality.Semantic.DeepEqual(x, o) }) {
			return append([]runtime.Object{o}, exemptedVariants(o)...)
		}
		return []runtime.Object{o}
	}
	compliant := deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)})
	s := policies.Defaults()
	standard := policies.EvaluateHPA(policies.HPAReview{Object: oddHPAs()[0]}, &s).Object
	v1 := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: policies.KindHPA}
	var out []write
	for _, w := range workloads {
		for _, o := range variants(w) {
			var old runtime.Object = compliant
			if s, ok := o.(*appsv1.StatefulSet); ok {
				old = &appsv1.StatefulSet{ObjectMeta: s.ObjectMeta, Spec: appsv1.StatefulSetSpec{Template: compliant.Spec.Template}}
			}
			out = append(out, write{op: admission.Create, obj: o}, write{op: admission.Update, obj: o, old: o}, write{op: admission.Update, obj: o, old: old})
		}
	}
	for _, h := range hpas {
		if !validHPA(h) {
			continue
		}
		for _, o := range variants(h) {
			out = append(out, write{op: admission.Create, obj: o}, write{op: admission.Create, obj: o, requestKind: v1},
				write{op: admission.Update, obj: o, old: o}, write{op: admission.Update, obj: o, old: standard})
		}
	}
	return out
}

// validHPA: the API server would store h (pkg/apis/autoscaling/validation
// on what the rules read); a validating policy never sees anything else.
func validHPA(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	min := ptr.Deref(h.Spec.MinReplicas, 1)
	if min < 0 || h.Spec.MaxReplicas < 1 || h.Spec.MaxReplicas < min {
		return false
	}
	if b := h.Spec.Behavior; b != nil {
		for _, r := range []*autoscalingv2.HPAScalingRules{b.ScaleUp, b.ScaleDown} {
			if r == nil {
				continue
			}
			if len(r.Policies) == 0 {
				return false
			}
			for _, p := range r.Policies {
				if p.Value <= 0 || p.PeriodSeconds <= 0 || (p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy) {
					return false
				}
			}
		}
	}
	return true
}

// consistencyHPAs are the cases of consistency_test.go that CEL judges
// (what can never move, inverted windows, a pin) and the arithmetic's,
// whose findings Exported leaves to the webhook; and an HPA KEDA owns
// that breaks every mutate rule.
func consistencyHPAs() []*autoscalingv2.HorizontalPodAutoscaler {
	s := policies.Defaults()
	standard := policies.EvaluateHPA(policies.HPAReview{Object: oddHPAs()[0]}, &s).Object
	edit := func(f func(h *autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
		h := standard.DeepCopy()
		f(h)
		return h
	}
	disabled, minPolicy := autoscalingv2.DisabledPolicySelect, autoscalingv2.MinChangePolicySelect
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))}}}
	return []*autoscalingv2.HorizontalPodAutoscaler{
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Behavior.ScaleUp.SelectPolicy = &disabled }),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Behavior.ScaleDown.SelectPolicy = &disabled }),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleUp.SelectPolicy, h.Spec.Behavior.ScaleDown.SelectPolicy = &disabled, &disabled
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr.To[int32](0)
			h.Spec.Metrics = append(h.Spec.Metrics, external)
			h.Spec.Behavior.ScaleUp.Policies = h.Spec.Behavior.ScaleUp.Policies[:1]
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr.To[int32](0)
			h.Spec.Metrics = append(h.Spec.Metrics, external)
			h.Spec.Behavior.ScaleUp.SelectPolicy = &minPolicy
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr.To[int32](0)
			h.Spec.Metrics = append(h.Spec.Metrics, external)
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse("1"))
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse("1500m"))
			h.Spec.Behavior.ScaleDown.SelectPolicy = &disabled
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse("999m"))
			h.Spec.Behavior.ScaleUp.Tolerance = ptr.To(resource.MustParse("5"))
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MaxReplicas = 40
			h.Spec.Behavior.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 120}}
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MaxReplicas = 100
			h.Spec.Behavior.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleUp.StabilizationWindowSeconds = ptr.To[int32](120)
			h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = ptr.To[int32](60)
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleUp.StabilizationWindowSeconds = ptr.To[int32](400)
			h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = nil
			h.Spec.Behavior.ScaleDown.Policies[0].Value = 20
		}),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 2 }),
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleUp.SelectPolicy = &disabled
			h.Spec.MaxReplicas = 2
		}),
		// Owned by KEDA and breaking every mutate rule.
		edit(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "web"}}
			h.Spec.MinReplicas, h.Spec.Behavior, h.Spec.Metrics = ptr.To[int32](1), nil, h.Spec.Metrics[:1]
		}),
	}
}

// TestPoliciesAgreeWithTheWebhook is the export's contract: for every
// write of the corpus (examples/, the real-world manifests, the rule
// tests' objects) under every settings variant, the policies refuse
// exactly when the webhook refuses for an exported rule, with the same
// findings in the same words, warn the same findings, and mutate an HPA
// into the object the webhook's patch makes.
func TestPoliciesAgreeWithTheWebhook(t *testing.T) {
	all, odd := writes(t, true), writes(t, false)
	// The whole corpus under the settings that change most, the rule
	// tests' objects under every other; settings the export does not read
	// (SettingsRecord) once.
	full := map[string]bool{"defaults": true, "rules warn, exemption-reason deny": true, "exemption annotations off, no existing violations allowed": true}
	seen := map[string]bool{}
	for name, s := range policySettings() {
		all := all
		if !full[name] {
			if seen[SettingsRecord(s)] {
				continue
			}
			all = odd
		}
		seen[SettingsRecord(s)] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newPolicyEngine(t, s)
			judged := map[string]int{}
			for _, w := range all {
				if s.IsExemptNamespace(w.obj.(metav1.Object).GetNamespace()) {
					continue
				}
				want := webhookVerdict(w, s)
				got := e.admit(t, w)
				if len(got.fallbacks) > 0 {
					t.Errorf("%s %s: %v refused with the static message", w.op, w.obj.(metav1.Object).GetName(), got.fallbacks)
				}
				what := func() string {
					m := w.obj.(metav1.Object)
					data, _ := yaml.Marshal(w.obj)
					return string(w.op) + " " + m.GetNamespace() + "/" + m.GetName() + " as " + w.requestKind.String() + ":\n" + string(data)
				}
				if !maps.EqualFunc(got.denials, want.denials, slices.Equal) {
					t.Errorf("%s\npolicies refuse with\n  %v\nthe webhook with\n  %v", what(), got.denials, want.denials)
				}
				if !slices.Equal(got.warnings, want.warnings) {
					t.Errorf("%s\npolicies warn\n  %q\nthe webhook\n  %q", what(), got.warnings, want.warnings)
				}
				if h, ok := want.object.(*autoscalingv2.HorizontalPodAutoscaler); ok {
					if g := got.object.(*autoscalingv2.HorizontalPodAutoscaler); !equality.Semantic.DeepEqual(g.Spec, h.Spec) {
						gs, _ := yaml.Marshal(g.Spec)
						hs, _ := yaml.Marshal(h.Spec)
						t.Errorf("%s\npolicies mutate the spec into\n%s\nthe webhook into\n%s", what(), gs, hs)
					}
				}
				for rule := range want.denials {
					judged["deny "+rule]++
				}
				for _, w := range want.warnings {
					judged["warn "+ruleOf(w)]++
				}
			}
			t.Logf("%d writes; findings compared: %v", len(all), judged)
		})
	}
}

// TestEveryExportedFindingIsExercised keeps the corpus honest: under the
// defaults, each kind of finding the policies report is met at least once
// by TestPoliciesAgreeWithTheWebhook.
func TestEveryExportedFindingIsExercised(t *testing.T) {
	s := policies.Defaults()
	seen := map[string]bool{}
	for _, w := range writes(t, true) {
		v := webhookVerdict(w, &s)
		for _, fs := range v.denials {
			for _, f := range fs {
				seen[findingKind(f)] = true
			}
		}
		for _, f := range v.warnings {
			seen[findingKind(f)] = true
		}
	}
	for _, want := range []string{
		"[requests-required] requests no", "[requests-required] requests 0", "[requests-required] limit but no request",
		"[hpa-api-version] cannot express", "[hpa-api-version] targetCPUUtilizationPercentage",
		"[min-replicas] below the required minimum", "[min-replicas] (not mutated", "[memory-target] (not mutated", "[behavior-defaults] (not mutated",
		"[behavior-consistency] scale-up is Disabled", "[behavior-consistency] scale-down is Disabled", "[behavior-consistency] Percent policies add nothing",
		"[behavior-consistency] selectPolicy Min picks", "[behavior-consistency] scale-down tolerance", "[behavior-consistency] minReplicas equals maxReplicas",
		"[behavior-consistency] scale-up waits", "[behavior-consistency] already so before this update",
		"[exemption-reason] exemption ignored", "[exemption-reason] unknown rule",
	} {
		if !seen[want] {
			t.Errorf("no write of the corpus gets %q", want)
		}
	}
}

// findingKind names a finding by its rule and the pieces of message the
// test looks for.
func findingKind(f string) string {
	rule := "[" + ruleOf(f) + "] "
	for _, piece := range []string{"already so before this update", "requests no", "requests 0", "limit but no request", "targetCPUUtilizationPercentage", "cannot express",
		"below the required minimum", "(not mutated", "scale-up is Disabled", "scale-down is Disabled", "Percent policies add nothing",
		"selectPolicy Min picks", "scale-down tolerance", "minReplicas equals maxReplicas", "scale-up waits",
		"exemption ignored", "unknown rule"} {
		if strings.Contains(f, piece) {
			return rule + piece
		}
	}
	return rule
}

// TestAdmissionPoliciesFollowTheSettings: a rule turned off is not
// exported, a rule set to warn and warn mode bind with Warn, a rule that
// does not mutate has no mutating policy, and nothing matches an exempt
// namespace.
func TestAdmissionPoliciesFollowTheSettings(t *testing.T) {
	names := func(s *policies.Settings) map[string]string {
		out := map[string]string{}
		for _, o := range AdmissionPolicies(s) {
			switch b := o.(type) {
			case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
				out["vap "+b.Name] = string(b.Spec.ValidationActions[0])
			case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
				out["map "+b.Name] = "mutate"
			}
		}
		return out
	}
	d := policies.Defaults()
	defaults := names(&d)
	for name, want := range map[string]string{
		"vap scaleguard-requests-required": "Deny", "vap scaleguard-requests-required-warnings": "Warn",
		"vap scaleguard-hpa-api-version": "Deny", "map scaleguard-min-replicas": "mutate", "vap scaleguard-min-replicas": "Deny",
		"vap scaleguard-behavior-consistency": "Deny", "vap scaleguard-exemption-reason": "Warn",
	} {
		if defaults[name] != want {
			t.Errorf("defaults: %s is %q, want %q", name, defaults[name], want)
		}
	}
	off := policies.Defaults()
	off.Rules.MinReplicas.Action = policies.Off
	for n := range names(&off) {
		if strings.Contains(n, policies.MinReplicas) {
			t.Errorf("min-replicas is off, yet %s is exported", n)
		}
	}

	warnMode := policySettings()["warn mode"]
	for n, a := range names(warnMode) {
		if a == "Deny" {
			t.Errorf("warn mode, yet %s denies", n)
		}
	}
	deny := settingsVariants()["mutate rules deny"]
	for n := range names(deny) {
		if strings.HasPrefix(n, "map ") {
			t.Errorf("no rule mutates, yet %s is exported", n)
		}
	}
	if every := AdmissionPolicies(settingsVariants()["every rule off"]); len(every) != 0 {
		t.Errorf("every rule off, yet %d objects are exported", len(every))
	}
	for _, o := range AdmissionPolicies(&d) {
		var m *admissionregistrationv1.MatchResources
		switch p := o.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			m = p.Spec.MatchConstraints
		case *admissionregistrationv1.MutatingAdmissionPolicy:
			m = p.Spec.MatchConstraints
		default:
			continue
		}
		sel, _ := json.Marshal(m.NamespaceSelector)
		if !strings.Contains(string(sel), `"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system"]`) {
			t.Errorf("%s matches kube-system: %s", o.GetName(), sel)
		}
		if o.GetObjectKind().GroupVersionKind().Empty() || !strings.HasPrefix(o.GetName(), "scaleguard-"+o.GetLabels()[LabelRule]) || o.GetLabels()[LabelPartOf] != "scaleguard" {
			t.Errorf("%s: kind %v, rule label %q", o.GetName(), o.GetObjectKind().GroupVersionKind(), o.GetLabels()[LabelRule])
		}
	}
}

// TestSettingsRecordHoldsWhatTheExportReads: changing a setting the
// record leaves out changes nothing exported, and the record holds every
// key of what it keeps.
func TestSettingsRecordHoldsWhatTheExportReads(t *testing.T) {
	export := func(s *policies.Settings) string {
		var b strings.Builder
		for _, o := range AdmissionPolicies(s) {
			o = o.DeepCopyObject().(interface {
				runtime.Object
				metav1.Object
			})
			o.(metav1.Object).SetAnnotations(nil)
			data, _ := yaml.Marshal(o)
			b.Write(data)
		}
		return b.String()
	}
	d := policies.Defaults()
	base := export(&d)
	for name, edit := range map[string]func(s *policies.Settings){
		"audit":               func(s *policies.Settings) { s.Audit = policies.AuditSettings{Enabled: false, IntervalSeconds: 60} },
		"maxScaleUpSeconds":   func(s *policies.Settings) { s.Rules.BehaviorConsistency.MaxScaleUpSeconds = 1 },
		"maxScaleDownSeconds": func(s *policies.Settings) { s.Rules.BehaviorConsistency.MaxScaleDownSeconds = 1 },
		"syncPeriodSeconds":   func(s *policies.Settings) { s.Rules.BehaviorConsistency.SyncPeriodSeconds = 60 },
		"cost-ceiling": func(s *policies.Settings) {
			s.Rules.CostCeiling.Action, s.Rules.CostCeiling.MonthlyBudget = policies.Deny, 100
		},
		"cluster rules' action": func(s *policies.Settings) {
			s.Rules.TargetExists.Action, s.Rules.TargetRequests.Action, s.Rules.UtilizationReachable.Action = policies.Deny, policies.Warn, policies.Off
			s.Rules.DuplicateHPA.Action, s.Rules.ScaleTargetKind.Action, s.Rules.MetricsAvailable.Action = policies.Warn, policies.Off, policies.Deny
			s.Rules.HPAReplicasConflict.Action = policies.Mutate
		},
	} {
		s := policies.Defaults()
		edit(&s)
		if export(&s) != base {
			t.Errorf("%s is not in the settings record, yet changing it changes the export", name)
		}
		if SettingsRecord(&s) != SettingsRecord(&d) {
			t.Errorf("%s changes the settings record", name)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(SettingsRecord(&d)), &rec); err != nil {
		t.Fatal(err)
	}
	rules := rec["rules"].(map[string]any)
	for _, id := range []string{policies.RequestsRequired, policies.HPAAPIVersion, policies.MinReplicas, policies.MemoryTarget,
		policies.BehaviorDefaults, policies.BehaviorConsistency, policies.ExemptionReason} {
		if _, ok := rules[id].(map[string]any)["action"]; !ok {
			t.Errorf("the record lacks rules.%s.action", id)
		}
	}
}

// TestDocumentedDifferences pins what docs/operations.md says the
// policies cannot say as the webhook does.
func TestDocumentedDifferences(t *testing.T) {
	d := policies.Defaults()
	e := newPolicyEngine(t, &d)
	t.Run("a control character in an unknown rule ID is not escaped", func(t *testing.T) {
		obj := deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)})
		obj.Annotations = map[string]string{policies.AnnotationExempt: "\x01odd", policies.AnnotationExemptReason: "x"}
		w := write{op: admission.Create, obj: obj}
		want, got := webhookVerdict(w, &d), e.admit(t, w)
		if len(want.warnings) != 1 || !strings.Contains(want.warnings[0], `"\x01odd"`) {
			t.Fatalf("the webhook warns %q", want.warnings)
		}
		if diff := strings.Replace(want.warnings[0], `\x01`, "\x01", 1); !slices.Equal(got.warnings, []string{diff}) {
			t.Errorf("the policies warn %q, want %q", got.warnings, diff)
		}
	})
	t.Run("a refusal over 5 KiB gets the static message", func(t *testing.T) {
		var cs []corev1.Container
		for i := range 20 {
			cs = append(cs, container(fmt.Sprintf("container-with-a-name-as-long-as-a-dns-label-allows-%011d", i), nil, nil))
		}
		w := write{op: admission.Create, obj: deployment(cs)}
		want, got := webhookVerdict(w, &d), e.admit(t, w)
		if n := len(strings.Join(want.denials[policies.RequestsRequired], "; ")); n <= celconfig.MaxEvaluatedMessageExpressionSizeBytes {
			t.Fatalf("the webhook's message is only %d bytes", n)
		}
		if !slices.Equal(got.fallbacks, []string{policyName(policies.RequestsRequired)}) {
			t.Errorf("refused with the static message by %v", got.fallbacks)
		}
	})
	t.Run("the webhook caps the warnings of all rules at 20, a policy its own", func(t *testing.T) {
		var cs []corev1.Container
		for i := range 25 {
			cs = append(cs, container(fmt.Sprintf("c%d", i), nil, rl("cpu", "1", "memory", "1Gi")))
		}
		obj := deployment(cs)
		obj.Annotations = map[string]string{policies.AnnotationExempt: policies.RequestsRequired}
		got := e.admit(t, write{op: admission.Create, obj: obj})
		// The webhook sends 20 requests-required warnings and "… and 6
		// more" (webhook.capped over all findings); the policies 20, "… and
		// 5 more", and exemption-reason's.
		var more, reasons int
		for _, w := range got.warnings {
			switch {
			case w == "… and 5 more":
				more++
			case strings.HasPrefix(w, "[exemption-reason]"):
				reasons++
			}
		}
		if len(got.warnings) != 22 || more != 1 || reasons != 1 {
			t.Errorf("the policies warn %d times: %q", len(got.warnings), got.warnings)
		}
	})
}
