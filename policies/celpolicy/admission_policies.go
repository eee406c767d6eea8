package celpolicy

import (
	"encoding/json"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
)

// Labels and annotations of every exported object.
const (
	// LabelPartOf selects everything AdmissionPolicies exports, so that
	// one label selector removes it all (docs/operations.md).
	LabelPartOf = "app.kubernetes.io/part-of"
	// LabelRule names the rule an object carries.
	LabelRule = "scaleguard.io/rule"
	// AnnotationSettings, on every policy, holds the settings the export
	// read, as JSON (SettingsRecord): what produced it, and what the
	// chart compares its values with.
	AnnotationSettings = "scaleguard.io/settings"
)

// AdmissionPolicies renders every rule CEL can express under settings s as
// ValidatingAdmissionPolicies, MutatingAdmissionPolicies and their
// bindings, for clusters that run no webhook or want a first line in front
// of it. Each finding's message is the webhook's; where CEL cannot give
// the same (docs/operations.md, "Admission policies") the difference is
// written beside the rule below.
//
// Per rule <id> that is not off:
//   - ValidatingAdmissionPolicy scaleguard-<id>: the rule's denials,
//     refused with the webhook's message ("scaleguard refused <Kind> <name>:
//     [<id>] <path>: <message>; …"), or sent as warnings when the rule is
//     set to warn or the mode is warn;
//   - ValidatingAdmissionPolicy scaleguard-<id>-warnings: what the webhook
//     only ever warns about, and the denials an update softens under
//     allowExistingViolations, one warning per finding;
//   - MutatingAdmissionPolicy scaleguard-<id>, for a rule set to mutate:
//     the webhook's patch, as JSON Patch;
//
// each with a binding of the same name. The order is the rule catalogue's,
// and within a rule the mutating policy first.
func AdmissionPolicies(s *policies.Settings) []client.Object {
	record := SettingsRecord(s)
	var out []client.Object
	for _, r := range exportedRules(s) {
		if s.Action(r.id) == policies.Off {
			continue
		}
		if r.fixes != nil && s.Action(r.id) == policies.Mutate {
			p := mutatingPolicy(s, r, record)
			out = append(out, p, mutatingBinding(p))
		}
		for _, p := range validatingPolicies(s, r, record) {
			out = append(out, p, validatingBinding(s, r, p))
		}
	}
	return out
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: kind}
}

// objectMeta names an exported object and labels it with its rule; a
// policy also records the settings it was made from.
func objectMeta(name, id, record string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelPartOf: "scaleguard", LabelRule: id}}
	if record != "" {
		m.Annotations = map[string]string{AnnotationSettings: record}
	}
	return m
}

// kind is what a rule's policies match.
type kind int

const (
	workloads kind = iota
	hpas
	workloadsAndHPAs
)

// exportedRule is one rule as the API server can run it. The functions
// write CEL over the object named o ("object", or "oldObject" to find
// what an update found already); each returns a list of findings, each
// "<path>: <message>", in the webhook's order.
type exportedRule struct {
	id   string
	kind kind
	// denials are the findings the webhook reports with action deny
	// before the settings cap them (the rule's action, the mode).
	denials func(o string) string
	// warnings are the findings the webhook only ever warns about; nil
	// when the rule has none.
	warnings func(o string) string
	// fixes, for a rule that can mutate, are what it would change, each
	// "<path>: <what to write>" (the webhook's message under deny or
	// warn); the mutating policy applies patch when fixes is not empty.
	fixes func(o string) string
	patch func(s *policies.Settings) string
	// gate, when set, is a cheap condition on object that holds whenever
	// the rule could report anything; the rule's validating policies carry
	// it as a matchCondition, so that a compliant write never pays for
	// building the messages. It is the same expression the webhooks'
	// matchConditions use for the rule.
	gate string
	// noSoftening: an update never finds the rule broken already (the
	// webhook judges the old object without a request kind).
	noSoftening bool
}

// names of a rule's policies.
func policyName(id string) string   { return "scaleguard-" + id }
func warningsName(id string) string { return "scaleguard-" + id + "-warnings" }

// softens reports whether an update turns rule id's denials that the old
// object had at the same path into warnings (allowExistingViolations).
// Only denials are softened, and in warn mode there are none.
func softens(s *policies.Settings, r exportedRule) bool {
	a := s.Action(r.id)
	return s.AllowExistingViolations && s.Mode == policies.Enforce && (a == policies.Deny || a == policies.Mutate) && !r.noSoftening
}

// denied reports whether rule id's denials refuse the object: not when
// the rule is set to warn, nor in warn mode.
func denied(s *policies.Settings, id string) bool {
	a := s.Action(id)
	return s.Mode == policies.Enforce && (a == policies.Deny || a == policies.Mutate)
}

// modeSuffix is what the webhook adds to a denial warn mode turned into a
// warning (policies' Settings.cap).
func modeSuffix(s *policies.Settings, id string) string {
	a := s.Action(id)
	if s.Mode == policies.WarnOnly && (a == policies.Deny || a == policies.Mutate) {
		return " (not enforced: scaleguard is in warn mode)"
	}
	return ""
}

const (
	softenedSuffix = " (already so before this update; allowed by allowExistingViolations)"
	// maxListed is the webhook's limit on the findings one answer lists
	// (webhook.maxListed); here it holds per policy.
	maxListed = 20
)

func validatingPolicies(s *policies.Settings, r exportedRule, record string) []*admissionregistrationv1.ValidatingAdmissionPolicy {
	found := variable("findings", r.denials("object"))
	var oldPaths admissionregistrationv1.Variable
	if softens(s, r) {
		oldPaths = variable("oldPaths", "request.operation == 'UPDATE' && oldObject != null && !("+exempt(s, r.id, "oldObject")+") ? "+
			paths(r.denials("oldObject"))+" : []")
	}

	deny := newValidatingPolicy(s, r, policyName(r.id), record)
	reported := variable("reported", "variables.findings")
	if softens(s, r) {
		deny.Spec.Variables = []admissionregistrationv1.Variable{found, oldPaths}
		reported.Expression = "variables.findings.filter(e, !(" + pathOf("e") + " in variables.oldPaths))"
	} else {
		deny.Spec.Variables = []admissionregistrationv1.Variable{found}
	}
	prefix := quote("[" + r.id + "] ")
	if denied(s, r.id) {
		deny.Spec.Variables = append(deny.Spec.Variables, reported, variable("listed", "variables.reported.map(e, "+prefix+" + e)"))
		deny.Spec.Validations = []admissionregistrationv1.Validation{refusal(r.id)}
	} else {
		deny.Spec.Variables = append(deny.Spec.Variables, reported,
			variable("messages", "variables.reported.map(e, "+prefix+" + e + "+quote(modeSuffix(s, r.id))+")"))
		deny.Spec.Validations = warningValidations()
	}
	out := []*admissionregistrationv1.ValidatingAdmissionPolicy{deny}

	if r.warnings == nil && !softens(s, r) {
		return out
	}
	warn := newValidatingPolicy(s, r, warningsName(r.id), record)
	var lists []string
	if r.warnings != nil {
		warn.Spec.Variables = append(warn.Spec.Variables, variable("warnings", r.warnings("object")))
		lists = append(lists, "variables.warnings")
	}
	if softens(s, r) {
		warn.Spec.Variables = append(warn.Spec.Variables, found, oldPaths)
		lists = append(lists, "variables.findings.filter(e, "+pathOf("e")+" in variables.oldPaths).map(e, e + "+quote(softenedSuffix)+")")
	}
	warn.Spec.Variables = append(warn.Spec.Variables,
		variable("messages", "("+strings.Join(lists, " + ")+").map(e, "+prefix+" + e)"))
	warn.Spec.Validations = warningValidations()
	return append(out, warn)
}

func newValidatingPolicy(s *policies.Settings, r exportedRule, name, record string) *admissionregistrationv1.ValidatingAdmissionPolicy {
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   typeMeta("ValidatingAdmissionPolicy"),
		ObjectMeta: objectMeta(name, r.id, record),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			// As the validating webhooks: an outage of the rules must not let
			// a non-standard object in.
			FailurePolicy:    ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: matchConstraints(s, r.kind),
			MatchConditions:  gated(notExempt(s, r.id), r.gate),
		},
	}
}

// gated appends the rule's gate to conds.
func gated(conds []admissionregistrationv1.MatchCondition, gate string) []admissionregistrationv1.MatchCondition {
	if gate == "" {
		return conds
	}
	return append(conds, admissionregistrationv1.MatchCondition{Name: ConditionFindings, Expression: gate})
}

// refusal is the one validation of a denying policy: its message is the
// webhook's denial, with every finding of the rule (variables.listed).
func refusal(id string) admissionregistrationv1.Validation {
	const listed = "variables.listed"
	capped := fmt.Sprintf("(size(%[1]s) <= %[2]d ? %[1]s : %[1]s.filter(e, %[1]s.indexOf(e) < %[2]d) + [%[3]s + string(size(%[1]s) - %[2]d) + %[4]s])",
		listed, maxListed, quote("… and "), quote(" more"))
	return admissionregistrationv1.Validation{
		Expression: "size(variables.reported) == 0",
		MessageExpression: "'scaleguard refused ' + request.kind.kind + ' ' + " + objectName + " + ': ' + " +
			capped + ".join('; ')",
		// Used only if the message is over the API server's 5 KiB.
		Message: "scaleguard refused this object under rule " + id + "; the message is too long for an admission policy, run `scaleguard check` on it for every finding",
		Reason:  ptr.To(metav1.StatusReasonForbidden),
	}
}

// objectName is webhook.objectName in CEL; an empty namespace or name is
// absent from request.
const objectName = "(request.?namespace.orValue('') == '' ? '' : request.namespace + '/') + (request.?name.orValue('') == '' ? '(generated name)' : request.name)"

// warningValidations send variables.messages as warnings, one per finding
// as the webhook does, the first maxListed of them and then a count: a
// validation of a policy bound with Warn is one warning line.
func warningValidations() []admissionregistrationv1.Validation {
	out := make([]admissionregistrationv1.Validation, 0, maxListed+1)
	for i := range maxListed {
		out = append(out, admissionregistrationv1.Validation{
			Expression:        fmt.Sprintf("size(variables.messages) <= %d", i),
			MessageExpression: fmt.Sprintf("variables.messages[%d]", i),
		})
	}
	return append(out, admissionregistrationv1.Validation{
		Expression:        fmt.Sprintf("size(variables.messages) <= %d", maxListed+1),
		MessageExpression: fmt.Sprintf("%s + string(size(variables.messages) - %d) + %s", quote("… and "), maxListed, quote(" more")),
	})
}

func variable(name, expression string) admissionregistrationv1.Variable {
	return admissionregistrationv1.Variable{Name: name, Expression: expression}
}

// pathOf is the path of a finding "<path>: <message>" (no path holds ": ").
func pathOf(e string) string { return e + ".substring(0, " + e + ".indexOf(': '))" }

// paths lists the paths of the findings list.
func paths(findings string) string { return "(" + findings + ").map(e, " + pathOf("e") + ")" }

func validatingBinding(s *policies.Settings, r exportedRule, p *admissionregistrationv1.ValidatingAdmissionPolicy) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	action := admissionregistrationv1.Warn
	if p.Name == policyName(r.id) && denied(s, r.id) {
		action = admissionregistrationv1.Deny
	}
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("ValidatingAdmissionPolicyBinding"),
		ObjectMeta: objectMeta(p.Name, r.id, ""),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        p.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{action},
		},
	}
}

func mutatingPolicy(s *policies.Settings, r exportedRule, record string) *admissionregistrationv1.MutatingAdmissionPolicy {
	conds := notExempt(s, r.id)
	if owned := owners(s.ExternallyManaged, "object"); owned != "" {
		// The owner would revert the patch; the warnings policy says what
		// to set there instead.
		conds = append(conds, admissionregistrationv1.MatchCondition{Name: "scaleguard-not-externally-managed", Expression: "size(" + owned + ") == 0"})
	}
	conds = append(conds, admissionregistrationv1.MatchCondition{Name: "scaleguard-breaks-rule", Expression: "size(" + r.fixes("object") + ") > 0"})
	return &admissionregistrationv1.MutatingAdmissionPolicy{
		TypeMeta:   typeMeta("MutatingAdmissionPolicy"),
		ObjectMeta: objectMeta(policyName(r.id), r.id, record),
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: matchConstraints(s, r.kind),
			MatchConditions:  conds,
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: r.patch(s)},
			}},
			// As the mutating webhook: a failed mutation leaves the object
			// to the validating policy, which refuses it unpatched.
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
			// Applied again when a later mutation changes the object.
			ReinvocationPolicy: admissionregistrationv1.IfNeededReinvocationPolicy,
		},
	}
}

func mutatingBinding(p *admissionregistrationv1.MutatingAdmissionPolicy) *admissionregistrationv1.MutatingAdmissionPolicyBinding {
	return &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("MutatingAdmissionPolicyBinding"),
		ObjectMeta: objectMeta(p.Name, p.Labels[LabelRule], ""),
		Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: p.Name},
	}
}

// matchConstraints match what the webhooks match (webhook/configuration):
// the main resources only, never /status or /scale; CREATE and UPDATE;
// matchPolicy Equivalent, so that an autoscaling/v1 request is judged
// converted and hpa-api-version sees its request kind; and not in an
// exempt or opted-out namespace.
func matchConstraints(s *policies.Settings, k kind) *admissionregistrationv1.MatchResources {
	var rules []admissionregistrationv1.Rule
	if k == workloads || k == workloadsAndHPAs {
		rules = append(rules, admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "statefulsets"}})
	}
	if k == hpas || k == workloadsAndHPAs {
		rules = append(rules, admissionregistrationv1.Rule{APIGroups: []string{"autoscaling"}, APIVersions: []string{"v2"}, Resources: []string{"horizontalpodautoscalers"}})
	}
	m := &admissionregistrationv1.MatchResources{NamespaceSelector: NamespaceSelector(s), MatchPolicy: ptr.To(admissionregistrationv1.Equivalent)}
	for _, rule := range rules {
		rule.Scope = ptr.To(admissionregistrationv1.NamespacedScope)
		m.ResourceRules = append(m.ResourceRules, admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       rule,
		}})
	}
	return m
}

// notExempt skips an object that opts out of rule id by annotation, when
// the settings honour exemptions; exemption-reason cannot be exempted.
func notExempt(s *policies.Settings, id string) []admissionregistrationv1.MatchCondition {
	if !s.ExemptionAnnotations || id == policies.ExemptionReason {
		return nil
	}
	return []admissionregistrationv1.MatchCondition{{Name: "scaleguard-not-exempt", Expression: "!(" + exempt(s, id, "object") + ")"}}
}

// exempt: o carries an exemption from rule id that the webhook honours:
// exemption annotations on, a reason that is not blank, and id or "*" in
// the comma-separated list (policies' exemptions).
func exempt(s *policies.Settings, id, o string) string {
	if !s.ExemptionAnnotations || id == policies.ExemptionReason {
		return "false"
	}
	a := annotationsOf(o)
	return a + "[?" + quote(policies.AnnotationExempt) + "].hasValue() && " +
		a + "[?" + quote(policies.AnnotationExemptReason) + "].orValue('').trim() != '' && " +
		a + "[" + quote(policies.AnnotationExempt) + "].split(',').exists(x, x.trim() == " + quote(id) + " || x.trim() == '*')"
}

func annotationsOf(o string) string { return o + ".?metadata.?annotations.orValue({})" }

// SettingsRecord is the part of s that AdmissionPolicies reads, as
// compact JSON with sorted keys, the way Helm's toJson writes the same
// values: the chart compares it key by key with .Values.settings.
func SettingsRecord(s *policies.Settings) string {
	r := &s.Rules
	rec := map[string]any{
		"mode":                    s.Mode,
		"allowExistingViolations": s.AllowExistingViolations,
		"exemptNamespaces":        s.ExemptNamespaces,
		"optOutLabel":             s.OptOutLabel,
		"exemptionAnnotations":    s.ExemptionAnnotations,
		"externallyManaged":       s.ExternallyManaged,
		"rules": map[string]any{
			policies.RequestsRequired: r.RequestsRequired,
			policies.HPAAPIVersion:    r.HPAAPIVersion,
			policies.MinReplicas:      r.MinReplicas,
			policies.MemoryTarget:     r.MemoryTarget,
			policies.BehaviorDefaults: r.BehaviorDefaults,
			// Only the windows' default: the rest is the arithmetic's.
			policies.BehaviorConsistency: map[string]any{
				"action":                        r.BehaviorConsistency.Action,
				"downscaleStabilizationSeconds": r.BehaviorConsistency.DownscaleStabilizationSeconds,
			},
			policies.ExemptionReason: r.ExemptionReason,
		},
	}
	// Through a generic tree, so that every key is sorted, struct fields too.
	data, err := json.Marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("celpolicy: settings cannot be written as JSON: %v", err))
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		panic(fmt.Sprintf("celpolicy: %v", err))
	}
	data, _ = json.Marshal(tree)
	return string(data)
}

// Exported reports whether the policies AdmissionPolicies exports report
// finding f of the webhook, with the same action and message. The others
// are the webhook's alone: the rules that need the cluster view, the
// scaling arithmetic's fastest paths (behavior-consistency's time to
// maxReplicas and back, reported at spec.behavior.scaleUp and .scaleDown),
// and the mutating webhook's "what I changed" warnings, since a mutating
// policy can send no warning.
func Exported(f policies.Finding) bool {
	switch {
	case f.Action == policies.Mutate:
		return false
	case f.Rule == policies.BehaviorConsistency:
		behavior := field.NewPath("spec", "behavior")
		at := f.Path.String()
		return at != behavior.Child("scaleUp").String() && at != behavior.Child("scaleDown").String()
	}
	d := policies.Defaults()
	for _, r := range exportedRules(&d) {
		if r.id == f.Rule {
			return true
		}
	}
	return false
}
