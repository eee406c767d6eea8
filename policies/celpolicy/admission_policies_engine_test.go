package celpolicy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/scaleguard/scaleguard/policies"
)

// The policies are judged here by the API server's own code, at the
// pinned version: its CEL compiler, its validating-policy validator (the
// variables, matchConditions, validations and message expressions of
// k8s.io/apiserver's validating package) and its JSON patcher for
// mutating policies. test/admissionpolicy runs them through a real API
// server as well.

// Oldest API servers that must accept the expressions: a validating
// policy runs on 1.30 (GA), a mutating one on 1.36 (GA); a server compiles
// a new expression with the libraries of the version before its own.
var (
	oldestValidatingLibraries = version.MajorMinor(1, 29)
	oldestMutatingLibraries   = version.MajorMinor(1, 35)
)

// policyEngine runs exported policies the way the API server's admission
// plugins do, minus the matching on resources and namespaces, which the
// callers do by choosing the writes.
type policyEngine struct {
	mutating   []compiledMutation
	validating []compiledValidation
}

type compiledMutation struct {
	name    string
	matcher matchconditions.Matcher
	patcher patch.Patcher
}

type compiledValidation struct {
	name      string
	kinds     []string
	validator validating.Validator
	action    admissionregistrationv1.ValidationAction
	fallback  string
}

// newPolicyEngine compiles what AdmissionPolicies exports under s, failing
// t on an expression the oldest API server that serves the kind refuses.
func newPolicyEngine(t *testing.T, s *policies.Settings) *policyEngine {
	t.Helper()
	objs := AdmissionPolicies(s)
	actions := map[string]admissionregistrationv1.ValidationAction{}
	for _, o := range objs {
		if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
			if len(b.Spec.ValidationActions) != 1 {
				t.Fatalf("binding %s: actions %v", b.Name, b.Spec.ValidationActions)
			}
			actions[b.Spec.PolicyName] = b.Spec.ValidationActions[0]
		}
	}
	e := &policyEngine{}
	for _, o := range objs {
		switch p := o.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			checkValidatingCompiles(t, p, oldestValidatingLibraries, environment.NewExpressions)
			v := compiledValidation{name: p.Name, validator: compileValidating(t, p), action: actions[p.Name], fallback: ""}
			for _, r := range p.Spec.MatchConstraints.ResourceRules {
				v.kinds = append(v.kinds, r.Resources...)
			}
			if len(p.Spec.Validations) > 0 {
				v.fallback = p.Spec.Validations[0].Message
			}
			if v.action == "" {
				t.Fatalf("policy %s has no binding", p.Name)
			}
			e.validating = append(e.validating, v)
		case *admissionregistrationv1.MutatingAdmissionPolicy:
			compileMutating(t, p, oldestMutatingLibraries, environment.NewExpressions)
			e.mutating = append(e.mutating, compileMutating(t, p, environment.DefaultCompatibilityVersion(), environment.StoredExpressions))
		}
	}
	return e
}

// compiledEnv is the composited compiler the API server builds per policy,
// with the policy's variables declared.
func compiledEnv(t *testing.T, name string, ver *version.Version, mode environment.Type, vars []admissionregistrationv1.Variable) *plugincel.CompositedCompiler {
	t.Helper()
	c, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(ver))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		r := c.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, mode)
		if r.Error != nil {
			t.Fatalf("%s: a %s API server refuses variable %s: %.600v", name, ver, v.Name, r.Error)
		}
	}
	return c
}

func conditions(conds []admissionregistrationv1.MatchCondition) []plugincel.ExpressionAccessor {
	out := make([]plugincel.ExpressionAccessor, len(conds))
	for i, c := range conds {
		out[i] = &matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression}
	}
	return out
}

func noErrors(t *testing.T, what string, ev interface{ CompilationErrors() []error }) {
	t.Helper()
	if errs := ev.CompilationErrors(); len(errs) > 0 {
		t.Fatalf("%.300s: %.600v", what, errs)
	}
}

func checkValidatingCompiles(t *testing.T, p *admissionregistrationv1.ValidatingAdmissionPolicy, ver *version.Version, mode environment.Type) {
	t.Helper()
	c := compiledEnv(t, p.Name, ver, mode, p.Spec.Variables)
	decls := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	noErrors(t, fmt.Sprintf("%s: matchConditions at %s", p.Name, ver), c.CompileCondition(conditions(p.Spec.MatchConditions), decls, mode))
	for _, v := range p.Spec.Validations {
		noErrors(t, fmt.Sprintf("%s: %s at %s", p.Name, v.Expression, ver),
			c.CompileCondition([]plugincel.ExpressionAccessor{&validating.ValidationCondition{Expression: v.Expression}}, decls, mode))
		noErrors(t, fmt.Sprintf("%s: %s at %s", p.Name, v.MessageExpression, ver),
			c.CompileCondition([]plugincel.ExpressionAccessor{&validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}}, plugincel.OptionalVariableDeclarations{}, mode))
	}
}

// compileValidating mirrors k8s.io/apiserver's validating compilePolicy.
func compileValidating(t *testing.T, p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	t.Helper()
	ver, mode := environment.DefaultCompatibilityVersion(), environment.StoredExpressions
	c := compiledEnv(t, p.Name, ver, mode, p.Spec.Variables)
	decls := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	var matcher matchconditions.Matcher
	if len(p.Spec.MatchConditions) > 0 {
		m := c.CompileCondition(conditions(p.Spec.MatchConditions), decls, mode)
		noErrors(t, p.Name, m)
		matcher = matchconditions.NewMatcher(m, p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	var checks, messages []plugincel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		checks = append(checks, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		messages = append(messages, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression})
	}
	validations := c.CompileCondition(checks, decls, mode)
	noErrors(t, p.Name, validations)
	msgs := c.CompileCondition(messages, plugincel.OptionalVariableDeclarations{}, mode)
	noErrors(t, p.Name, msgs)
	return validating.NewValidator(validations, matcher, c.CompileCondition(nil, decls, mode), msgs, p.Spec.FailurePolicy, nil)
}

// compileMutating mirrors k8s.io/apiserver's mutating compilePolicy.
func compileMutating(t *testing.T, p *admissionregistrationv1.MutatingAdmissionPolicy, ver *version.Version, mode environment.Type) compiledMutation {
	t.Helper()
	c := compiledEnv(t, p.Name, ver, mode, p.Spec.Variables)
	decls := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	m := c.CompileCondition(conditions(p.Spec.MatchConditions), decls, mode)
	noErrors(t, fmt.Sprintf("%s: matchConditions at %s", p.Name, ver), m)
	if len(p.Spec.Mutations) != 1 || p.Spec.Mutations[0].JSONPatch == nil {
		t.Fatalf("%s: want one JSON patch, got %+v", p.Name, p.Spec.Mutations)
	}
	decls.HasPatchTypes = true
	ev := c.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: p.Spec.Mutations[0].JSONPatch.Expression}, decls, mode)
	noErrors(t, fmt.Sprintf("%s: patch at %s", p.Name, ver), ev)
	return compiledMutation{name: p.Name, matcher: matchconditions.NewMatcher(m, p.Spec.FailurePolicy, "policy", "mutate", p.Name), patcher: patch.NewJSONPatcher(ev)}
}

// write is one request: its operation, objects (typed, as the API server
// hands them to admission after defaulting), and the kind the client
// wrote.
type write struct {
	op          admission.Operation
	obj, old    runtime.Object
	requestKind schema.GroupVersionKind
}

func (w write) kind() (schema.GroupVersionKind, schema.GroupVersionResource) {
	switch w.obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		return autoscalingv2.SchemeGroupVersion.WithKind(policies.KindHPA), autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers")
	case *appsv1.StatefulSet:
		return appsv1.SchemeGroupVersion.WithKind(policies.KindStatefulSet), appsv1.SchemeGroupVersion.WithResource("statefulsets")
	}
	return appsv1.SchemeGroupVersion.WithKind(policies.KindDeployment), appsv1.SchemeGroupVersion.WithResource("deployments")
}

func (w write) attributes(obj runtime.Object) *admission.VersionedAttributes {
	kind, resource := w.kind()
	rk := w.requestKind
	if rk.Empty() {
		rk = kind
	}
	meta := obj.(interface {
		GetNamespace() string
		GetName() string
	})
	attrs := admission.NewAttributesRecord(obj, w.old, rk, meta.GetNamespace(), meta.GetName(), resource, "", w.op, nil, false, nil)
	va := &admission.VersionedAttributes{Attributes: attrs, VersionedKind: kind, VersionedObject: admission.NewLazyObject(obj)}
	if w.old != nil {
		va.VersionedOldObject = admission.NewLazyObject(w.old)
	}
	return va
}

// verdict is what one engine answers to a write, reduced to the findings
// the exported policies report (Exported).
type verdict struct {
	// denials are the findings of each refusing rule, in the order its
	// message lists them.
	denials map[string][]string
	// warnings, each "[rule] path: message", sorted.
	warnings []string
	// object is the object after mutation.
	object runtime.Object
	// fallbacks are the policies that refused with their static message,
	// their message expression having failed or grown over 5 KiB.
	fallbacks []string
}

var objectInterfaces = admission.NewObjectInterfacesFromScheme(scheme.Scheme)

// admit runs the mutating policies (again while one changes the object,
// as reinvocation does) and then the validating ones on the result.
func (e *policyEngine) admit(t *testing.T, w write) verdict {
	t.Helper()
	ctx := context.Background()
	obj := w.obj.DeepCopyObject()
	_, resource := w.kind()
	if _, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
		for round := 0; ; round++ {
			changed := false
			for _, m := range e.mutating {
				va := w.attributes(obj)
				r := m.matcher.Match(ctx, va, nil, nil)
				if r.Error != nil {
					t.Fatalf("%s: a matchCondition failed: %v", m.name, r.Error)
				}
				if !r.Matches {
					continue
				}
				out, err := m.patcher.Patch(ctx, patch.Request{MatchedResource: resource, VersionedAttributes: va, ObjectInterfaces: objectInterfaces}, celconfig.RuntimeCELCostBudget)
				if err != nil {
					t.Fatalf("%s: patch failed: %v", m.name, err)
				}
				out.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
				changed = changed || !equalObjects(obj, out)
				obj = out
			}
			if !changed {
				break
			}
			if round > 2 {
				t.Fatalf("the mutating policies still change the object after %d rounds", round)
			}
		}
	}
	v := verdict{denials: map[string][]string{}, object: obj}
	va := w.attributes(obj)
	for _, p := range e.validating {
		if !slices.Contains(p.kinds, resource.Resource) {
			continue
		}
		r := p.validator.Validate(ctx, resource, va, nil, nil, celconfig.RuntimeCELCostBudget, nil)
		for _, d := range r.Decisions {
			switch {
			case d.Evaluation == validating.EvalError:
				t.Errorf("%s: evaluation failed: %s", p.name, d.Message)
			case d.Action != validating.ActionDeny:
			case p.fallback != "" && d.Message == p.fallback:
				v.fallbacks = append(v.fallbacks, p.name)
			case p.action == admissionregistrationv1.Deny:
				rule, findings := refusalFindings(t, d.Message, w, obj)
				if policyName(rule) != p.name {
					t.Errorf("%s refuses with findings of %s: %s", p.name, rule, d.Message)
				}
				v.denials[rule] = findings
			default:
				v.warnings = append(v.warnings, d.Message)
			}
		}
	}
	slices.Sort(v.warnings)
	return v
}

func equalObjects(a, b runtime.Object) bool {
	ua, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
	ub, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
	return fmt.Sprint(ua) == fmt.Sprint(ub)
}

// findingStart matches where a finding "[rule] " starts in a message that
// joins several with "; ".
var findingStart = func() *regexp.Regexp {
	var ids []string
	for _, r := range policies.Catalogue() {
		ids = append(ids, regexp.QuoteMeta(r.ID))
	}
	return regexp.MustCompile(`; \[(` + strings.Join(ids, "|") + `)\] `)
}()

// splitFindings splits the findings a denial lists.
func splitFindings(list string) []string {
	var out []string
	for {
		loc := findingStart.FindStringIndex(list)
		if loc == nil {
			return append(out, list)
		}
		out = append(out, list[:loc[0]])
		list = list[loc[0]+2:]
	}
}

// ruleOf is the rule a finding "[rule] …" names.
func ruleOf(finding string) string {
	rule, _, _ := strings.Cut(strings.TrimPrefix(finding, "["), "]")
	return rule
}

// refusalFindings reads a policy's denial message, which must start as
// the webhook's does, and returns its rule and findings.
func refusalFindings(t *testing.T, msg string, w write, obj runtime.Object) (string, []string) {
	t.Helper()
	kind, _ := w.kind()
	meta := obj.(interface {
		GetNamespace() string
		GetName() string
	})
	name := meta.GetName()
	if ns := meta.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	prefix := fmt.Sprintf("scaleguard refused %s %s: ", kind.Kind, name)
	list, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		t.Errorf("denial %q does not start with %q", msg, prefix)
		return "", nil
	}
	findings := splitFindings(list)
	rule := ruleOf(findings[0])
	for _, f := range findings {
		if ruleOf(f) != rule {
			t.Errorf("one policy's denial lists findings of several rules: %s", msg)
		}
	}
	return rule, findings
}

// webhookVerdict is what scaleguard's webhooks answer to w, without a
// cluster view (the exported rules need none).
func webhookVerdict(w write, s *policies.Settings) verdict {
	v := verdict{denials: map[string][]string{}}
	var findings policies.Findings
	switch obj := w.obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		writtenAs := ""
		if !w.requestKind.Empty() && w.requestKind.GroupVersion() != autoscalingv2.SchemeGroupVersion {
			writtenAs = w.requestKind.GroupVersion().String()
		}
		mutated := policies.EvaluateHPA(policies.HPAReview{Object: obj, WrittenAs: writtenAs}, s).Object
		v.object = mutated
		findings = policies.EvaluateHPA(policies.HPAReview{Object: mutated, Final: true, WrittenAs: writtenAs}, s).Findings
		if old, ok := w.old.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			findings = s.SoftenExistingHPA(findings, old, nil)
		}
	default:
		wl, _ := policies.WorkloadOf(obj)
		v.object = obj
		findings = policies.EvaluateWorkload(policies.WorkloadReview{Object: wl, Final: true}, s)
		if w.old != nil {
			old, _ := policies.WorkloadOf(w.old)
			findings = s.SoftenExistingWorkload(findings, &old, nil)
		}
	}
	for _, f := range findings {
		if !Exported(f) {
			continue
		}
		if f.Action == policies.Deny {
			v.denials[f.Rule] = append(v.denials[f.Rule], f.String())
		} else {
			v.warnings = append(v.warnings, f.String())
		}
	}
	slices.Sort(v.warnings)
	return v
}
