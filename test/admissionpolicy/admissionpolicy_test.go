// Package admissionpolicy proves through a real API server that the
// policies `scaleguard export --format admission-policy` prints judge as
// scaleguard's webhooks do: every object of examples/ and of the rule
// tests is written (server-side dry run) once with only the webhooks
// registered and once with only the exported policies installed, and the
// two answers must agree — refused or admitted, the object that would be
// stored, and each finding's message — for every finding the export
// covers (celpolicy.Exported). The differences docs/operations.md
// documents are asserted as such, not skipped.
package admissionpolicy

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

func TestPoliciesJudgeAsTheWebhookDoes(t *testing.T) {
	start := time.Now()
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bed := testbed.Start(t, testbed.Options{})
	bin := buildScaleguard(t, root)
	cfg := rest.CopyConfig(bed.Config)
	cfg.WarningHandlerWithContext = warnings{}
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	examples, setup := exampleCases(t)
	cases := append(examples, ruleCases()...)
	prepare(t, c, setup, cases)
	settings := policies.Defaults()
	t.Logf("test bed, scaleguard built, %d cases prepared: %s", len(cases), time.Since(start).Round(time.Millisecond))

	// Only the webhooks.
	dir := t.TempDir()
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{Kubeconfig: bed.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sg.Stop(); err != nil {
			t.Error(err)
		}
	}()
	hooks := harness.NewWebhookConfigs(&settings)
	if err := hooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		t.Fatal(err)
	}
	if err := hooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "the API server calls both webhooks", func() error { return engineActive(ctx, c, "admission webhook") })
	byWebhook := judgeAll(t, c, cases, nil)
	if err := hooks.Delete(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "the API server stops calling the webhooks", func() error { return engineGone(ctx, c) })
	if err := sg.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("webhook judged: %s", time.Since(start).Round(time.Millisecond))

	// Only the exported policies.
	installPolicies(t, c, celpolicy.AdmissionPolicies(&settings))
	harness.Eventually(t, 30*time.Second, "every exported policy is active", func() error { return sentinelsActive(ctx, c) })
	byPolicies := judgeAll(t, c, cases, nil)
	t.Logf("policies judged: %s", time.Since(start).Round(time.Millisecond))

	compared := map[string]int{}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, c, &settings, tc, byWebhook[i], byPolicies[i], compared)
		})
	}
	t.Logf("findings compared per rule: %v; done in %s", compared, time.Since(start).Round(time.Millisecond))
}

// buildScaleguard compiles cmd/scaleguard.
func buildScaleguard(t *testing.T, root string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "scaleguard-admissionpolicy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin, err := harness.Build(context.Background(), root, dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// prepare creates the namespaces, the objects the cases need to exist
// (the LimitRanges, the stored objects updates start from), before either
// engine is installed.
func prepare(t *testing.T, c client.Client, setup []string, cases []testCase) {
	t.Helper()
	ctx := context.Background()
	for name, labels := range namespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	docs := append(setup, limitRange)
	for _, tc := range cases {
		if tc.stored != "" {
			docs = append(docs, tc.stored)
		}
	}
	for _, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("creating %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
}

// judgeAll dry-runs every case and returns the answers in order.
func judgeAll(t *testing.T, c client.Client, cases []testCase, edit func(*unstructured.Unstructured)) []answer {
	t.Helper()
	out := make([]answer, len(cases))
	for i, tc := range cases {
		a, err := dryRun(context.Background(), c, tc, edit)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// Probes of which engine answers: a Deployment without requests and a
// bare HPA.
var (
	probeDeployment = testCase{name: "probe", obj: deployment("rules", "probe", "", "containers: [{name: app, image: example.com/app:1}]")}
	probeHPA        = testCase{name: "probe", obj: hpa("probe", "", "maxReplicas: 5\n")}
)

// engineActive: the probe Deployment is refused by what envelope names
// (the webhook or the policy), and the probe HPA comes back patched.
func engineActive(ctx context.Context, c client.Client, envelope string) error {
	d, err := dryRun(ctx, c, probeDeployment, nil)
	if err != nil {
		return err
	}
	if d.err == nil || !strings.Contains(d.err.Error(), envelope) {
		return fmt.Errorf("the probe Deployment got %v", d.err)
	}
	h, err := dryRun(ctx, c, probeHPA, nil)
	if err != nil {
		return err
	}
	if h.err != nil {
		return h.err
	}
	if m, _, _ := unstructured.NestedInt64(h.object.Object, "spec", "minReplicas"); m != 2 {
		return fmt.Errorf("the probe HPA has minReplicas %d", m)
	}
	return nil
}

// engineGone: the probes pass unjudged.
func engineGone(ctx context.Context, c client.Client) error {
	d, err := dryRun(ctx, c, probeDeployment, nil)
	if err != nil {
		return err
	}
	if d.err != nil {
		return d.err
	}
	h, err := dryRun(ctx, c, probeHPA, nil)
	if err != nil {
		return err
	}
	if m, _, _ := unstructured.NestedInt64(h.object.Object, "spec", "minReplicas"); h.err != nil || m != 1 {
		return fmt.Errorf("the probe HPA: %v, minReplicas %d", h.err, m)
	}
	return nil
}

// Sentinels are a validating and a mutating policy of the test's own,
// created after every exported policy and bound after every exported
// binding: the API server's policy informers deliver objects of one kind
// in order, so once both sentinels act, every exported object does.
const (
	sentinel       = "scaleguard-test-sentinel"
	sentinelDenied = "sentinel-denied"
	sentinelPatch  = "sentinel-patched"
)

func installPolicies(t *testing.T, c client.Client, exported []client.Object) {
	t.Helper()
	var maps, vaps, mapbs, vapbs []client.Object
	for _, o := range exported {
		switch o.(type) {
		case *admissionregistrationv1.MutatingAdmissionPolicy:
			maps = append(maps, o)
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			vaps = append(vaps, o)
		case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
			mapbs = append(mapbs, o)
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			vapbs = append(vapbs, o)
		}
	}
	configMaps := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}}}}
	maps = append(maps, &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: sentinel},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints:   configMaps,
			MatchConditions:    []admissionregistrationv1.MatchCondition{{Name: "sentinel", Expression: "object.metadata.name == '" + sentinelPatch + "'"}},
			Mutations:          []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: `[JSONPatch{op: "add", path: "/data", value: {"sentinel": "patched"}}]`}}},
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	})
	vaps = append(vaps, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: sentinel},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: configMaps,
			MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "sentinel", Expression: "object.metadata.name == '" + sentinelDenied + "'"}},
			Validations:      []admissionregistrationv1.Validation{{Expression: "false", Message: sentinel}},
		},
	})
	mapbs = append(mapbs, &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: sentinel},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: sentinel}})
	vapbs = append(vapbs, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: sentinel},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: sentinel, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}})
	for _, o := range slices.Concat(maps, vaps, mapbs, vapbs) {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("the API server refuses %s %s: %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
}

func sentinelsActive(ctx context.Context, c client.Client) error {
	denied := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sentinelDenied, Namespace: "rules"}}
	if err := c.Create(ctx, denied, client.DryRunAll); err == nil || !strings.Contains(err.Error(), sentinel) {
		return fmt.Errorf("the validating sentinel: %v", err)
	}
	patched := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sentinelPatch, Namespace: "rules"}}
	if err := c.Create(ctx, patched, client.DryRunAll); err != nil || patched.Data["sentinel"] != "patched" {
		return fmt.Errorf("the mutating sentinel: %v, data %v", err, patched.Data)
	}
	return nil
}

// compare holds the policies' answer to one case against the webhook's.
func compare(t *testing.T, c client.Client, s *policies.Settings, tc testCase, web, pol answer, compared map[string]int) {
	wf, pf := read(web), read(pol)
	if !slices.Equal(wf.other, pf.other) {
		t.Errorf("the API server says otherwise: with the webhook %q, with the policies %q", wf.other, pf.other)
	}
	// Documented: a mutating policy sends no warning. The webhook's
	// "what I changed" warnings are exactly the mutations.
	mutations := mutationWarnings(t, s, tc)
	warned := slices.Clone(wf.warnings)
	for _, m := range mutations {
		i := slices.Index(warned, m)
		if i < 0 {
			t.Errorf("the webhook did not send the mutation warning %q: %q", m, wf.warnings)
			continue
		}
		warned = slices.Delete(warned, i, i+1)
	}
	// What the policies must say: the webhook's findings of exported
	// rules; the rest (cluster view, arithmetic) is left out explicitly.
	want := map[string][]string{}
	for _, f := range wf.denials {
		if celpolicy.Exported(parse(f, policies.Deny)) {
			want[parse(f, policies.Deny).Rule] = append(want[parse(f, policies.Deny).Rule], f)
		}
	}
	var wantWarnings []string
	arithmetic := 0
	for _, f := range warned {
		parsed := parse(f, policies.Warn)
		switch {
		case celpolicy.Exported(parsed):
			wantWarnings = append(wantWarnings, f)
		case parsed.Rule == policies.BehaviorConsistency:
			arithmetic++
		}
	}
	// The scaling arithmetic is the webhook's alone: its slow paths are
	// reported, and left out of what the policies must say.
	if strings.HasPrefix(tc.name, "slow scale-") && arithmetic == 0 {
		t.Errorf("the webhook does not report the slow path: %q", wf.warnings)
	}
	want, wantWarnings = documentedDifferences(t, s, tc, web, want, wantWarnings)

	// Refused or admitted, and with which findings.
	switch {
	case len(want) == 0 && len(pf.denials) > 0:
		t.Errorf("the policies refuse what the webhook does not refuse for an exported rule:\n  %q\nwebhook: %v", pf.denials, web.err)
	case len(want) > 0 && len(pf.denials) == 0:
		t.Errorf("the policies admit what the webhook refuses:\n  %q", want)
	case len(want) > 0:
		if refusedAs := refusedAs(t, tc); pf.refusedAs != refusedAs || (wf.refusedAs != "" && wf.refusedAs != refusedAs) {
			t.Errorf("refused as %q, the webhook refuses %q, want %q", pf.refusedAs, wf.refusedAs, refusedAs)
		}
		if wf.code != 0 && pf.code != wf.code {
			t.Errorf("refused with HTTP %d, the webhook with %d", pf.code, wf.code)
		}
		// The API server reports one denying policy's message; the other
		// rules' findings show once the reported rules are exempted.
		var exempted []string
		for got := pf.denials; ; {
			rule := parse(got[0], policies.Deny).Rule
			if !slices.Equal(got, want[rule]) {
				t.Errorf("%s refuses with\n  %q\nthe webhook with\n  %q", rule, got, want[rule])
			}
			compared["deny "+rule]++
			exempted = append(exempted, rule)
			if len(exempted) == len(want) {
				break
			}
			got = refusedWithExemptions(t, c, tc, exempted)
			if got == nil {
				t.Errorf("exempt from %v, the policies admit; the webhook also refuses for %v", exempted, keys(want))
				break
			}
		}
	}
	if !slices.Equal(sorted(pf.warnings), sorted(wantWarnings)) {
		t.Errorf("the policies warn\n  %q\nthe webhook\n  %q", sorted(pf.warnings), sorted(wantWarnings))
	}
	for _, w := range wantWarnings {
		compared["warn "+parse(w, policies.Warn).Rule]++
	}
	// The object that would be stored, mutations included.
	if web.err == nil && pol.err == nil {
		ws, _, _ := unstructured.NestedFieldNoCopy(web.object.Object, "spec")
		ps, _, _ := unstructured.NestedFieldNoCopy(pol.object.Object, "spec")
		if !equality.Semantic.DeepEqual(ws, ps) {
			wy, _ := yaml.Marshal(ws)
			py, _ := yaml.Marshal(ps)
			t.Errorf("the policies make the spec\n%s\nthe webhook\n%s", py, wy)
		}
		if len(mutations) > 0 {
			compared["mutation"]++
		}
	}
}

// refusedAs is how scaleguard names the case's object when it refuses it.
func refusedAs(t *testing.T, tc testCase) string {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(tc.obj), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// refusedWithExemptions dry-runs the case exempted from rules too (with a
// reason), under the policies, and returns the findings it is refused
// with, nil when admitted.
func refusedWithExemptions(t *testing.T, c client.Client, tc testCase, rules []string) []string {
	t.Helper()
	a, err := dryRun(context.Background(), c, tc, func(u *unstructured.Unstructured) {
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		exempt := rules
		if already := a[policies.AnnotationExempt]; already != "" {
			exempt = append([]string{already}, rules...)
		}
		a[policies.AnnotationExempt] = strings.Join(exempt, ",")
		if a[policies.AnnotationExemptReason] == "" {
			a[policies.AnnotationExemptReason] = "the test reads the next rule's refusal"
		}
		u.SetAnnotations(a)
	})
	if err != nil {
		t.Fatal(err)
	}
	return read(a).denials
}

// mutationWarnings are the warnings the mutating webhook sends for the
// case: the mutate findings of the rules, on the object as the API server
// defaults it.
func mutationWarnings(t *testing.T, s *policies.Settings, tc testCase) []string {
	t.Helper()
	h := caseHPA(t, tc)
	if h == nil {
		return nil
	}
	var out []string
	for _, f := range policies.EvaluateHPA(policies.HPAReview{Object: h}, s).Findings.With(policies.Mutate) {
		out = append(out, f.String())
	}
	return out
}

// caseJSON is the case's object as JSON, and its apiVersion and kind.
func caseJSON(t *testing.T, tc testCase) ([]byte, metav1.TypeMeta) {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(tc.obj))
	if err != nil {
		t.Fatal(err)
	}
	var head metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		t.Fatal(err)
	}
	return js, head
}

// caseHPA decodes the case's object as the v2 HPA the API server hands to
// admission; nil for another kind.
func caseHPA(t *testing.T, tc testCase) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	js, head := caseJSON(t, tc)
	var h *autoscalingv2.HorizontalPodAutoscaler
	switch head.APIVersion + " " + head.Kind {
	case "autoscaling/v2 HorizontalPodAutoscaler":
		h = &autoscalingv2.HorizontalPodAutoscaler{}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, h); err != nil {
			t.Fatal(err)
		}
	case "autoscaling/v1 HorizontalPodAutoscaler":
		v1 := &autoscalingv1.HorizontalPodAutoscaler{}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, v1); err != nil {
			t.Fatal(err)
		}
		h = policies.ConvertV1HPA(v1)
	default:
		return nil
	}
	policies.ApplyAPIServerDefaults(h)
	return h
}

// documentedDifferences adjusts what the policies must say where
// docs/operations.md says they differ, and checks that the webhook does
// differ there, so the documentation stays true:
//   - a policy sees no LimitRange, so requests a namespace's LimitRange
//     fills in count as missing (requests-required without them);
//   - findings of more than ten containers of one kind come in index
//     order, not in the webhook's textual path order;
//   - no mutating policy can patch an autoscaling/v1 request, so one that
//     hpa-api-version does not refuse is refused for each mutate rule it
//     breaks ("scaleguard's mutation was not applied").
func documentedDifferences(t *testing.T, s *policies.Settings, tc testCase, web answer, want map[string][]string, warnings []string) (map[string][]string, []string) {
	t.Helper()
	if tc.name == v1Exempt {
		if web.err != nil {
			t.Errorf("the webhook refuses the v1 request it should patch: %v", web.err)
		}
		for _, f := range policies.EvaluateHPA(policies.HPAReview{Object: caseHPA(t, tc), Final: true, WrittenAs: "autoscaling/v1"}, s).Findings {
			if f.Action == policies.Deny && celpolicy.Exported(f) {
				want[f.Rule] = append(want[f.Rule], f.String())
			}
		}
		if len(want) == 0 {
			t.Errorf("the v1 request breaks no mutate rule")
		}
		t.Logf("documented: no mutating policy patches an autoscaling/v1 request")
		return want, warnings
	}
	w := caseWorkload(t, tc)
	if w == nil {
		return want, warnings
	}
	var blind, blindWarnings []string
	for _, f := range policies.EvaluateWorkload(policies.WorkloadReview{Object: *w, Final: true}, s) {
		if f.Rule != policies.RequestsRequired {
			continue
		}
		if f.Action == policies.Deny {
			blind = append(blind, f.String())
		} else {
			blindWarnings = append(blindWarnings, f.String())
		}
	}
	switch {
	case w.Meta.Namespace == "limits" || w.Meta.Namespace == "batch":
		if slices.Equal(want[policies.RequestsRequired], blind) {
			t.Errorf("the webhook refuses as if %s had no LimitRange: %q", w.Meta.Namespace, blind)
		}
		t.Logf("documented: the webhook reads the LimitRanges of %s, a policy cannot", w.Meta.Namespace)
		if len(blind) > 0 {
			want[policies.RequestsRequired] = blind
		} else {
			delete(want, policies.RequestsRequired)
		}
		warnings = slices.DeleteFunc(warnings, func(f string) bool { return parse(f, policies.Warn).Rule == policies.RequestsRequired })
		warnings = append(warnings, blindWarnings...)
	case len(w.Template.Spec.Containers) > 10:
		got := want[policies.RequestsRequired]
		byIndex := slices.Clone(got)
		slices.SortStableFunc(byIndex, func(a, b string) int { return containerIndex(a) - containerIndex(b) })
		if slices.Equal(got, byIndex) {
			t.Errorf("the webhook lists more than ten containers in index order, docs/operations.md says it does not: %q", got)
		}
		t.Logf("documented: the policies list the findings of more than ten containers in index order")
		want[policies.RequestsRequired] = byIndex
	}
	return want, warnings
}

// containerIndex is the index in "[rule] spec.template.spec.containers[12]…".
func containerIndex(f string) int {
	var i int
	if _, rest, ok := strings.Cut(f, "containers["); ok {
		if _, err := fmt.Sscanf(rest, "%d", &i); err != nil {
			return -1
		}
	}
	return i
}

// caseWorkload decodes the case's Deployment or StatefulSet; nil for
// another kind.
func caseWorkload(t *testing.T, tc testCase) *policies.Workload {
	t.Helper()
	js, head := caseJSON(t, tc)
	var obj any
	switch head.Kind {
	case policies.KindDeployment:
		obj = &appsv1.Deployment{}
	case policies.KindStatefulSet:
		obj = &appsv1.StatefulSet{}
	default:
		return nil
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, obj); err != nil {
		t.Fatal(err)
	}
	w, _ := policies.WorkloadOf(obj)
	return &w
}
