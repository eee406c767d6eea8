package admissionpolicy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// helmTemplate renders the chart with the real helm and extra flags.
func helmTemplate(t *testing.T, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"template", "sg", testbed.ChartDir(t), "--namespace", "scaleguard-system"}, extra...)
	stdout, stderr, err := testbed.Helm(t, args...)
	if err != nil {
		return stdout, &helmError{err, stderr}
	}
	return stdout, nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + e.stderr }

// admissionObjects are the rendered objects of admissionregistration.k8s.io
// that are policies or their bindings.
func admissionObjects(t *testing.T, rendered string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(rendered, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(u.GetKind(), "AdmissionPolicy") {
			out = append(out, u)
		}
	}
	return out
}

// TestChartInstallsTheExport: with admissionPolicies.enabled the chart
// renders exactly what `scaleguard export --format admission-policy` makes
// of its default settings, with the chart's labels and the webhooks'
// namespace selector; nothing without it.
func TestChartInstallsTheExport(t *testing.T) {
	off, err := helmTemplate(t)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(admissionObjects(t, off)); n != 0 {
		t.Fatalf("admissionPolicies.enabled is false by default, yet %d policies render", n)
	}
	on, err := helmTemplate(t, "--set", "admissionPolicies.enabled=true", "--set", "settings.audit.intervalSeconds=60")
	if err != nil {
		t.Fatalf("a setting the policies do not read keeps them from rendering: %v", err)
	}
	// Helm orders what it renders by kind.
	rendered := map[string]*unstructured.Unstructured{}
	for _, u := range admissionObjects(t, on) {
		rendered[u.GetKind()+"/"+u.GetName()] = u
	}
	d := policies.Defaults()
	exported := celpolicy.AdmissionPolicies(&d)
	if len(rendered) != len(exported) {
		t.Fatalf("%d objects render, the export has %d", len(rendered), len(exported))
	}
	for _, o := range exported {
		want, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := rendered[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()]
		if !ok {
			t.Fatalf("%s %s is not rendered", o.GetObjectKind().GroupVersionKind().Kind, o.GetName())
		}
		for k, v := range o.GetLabels() {
			if got.GetLabels()[k] != v {
				t.Errorf("%s: label %s is %q, want %q", o.GetName(), k, got.GetLabels()[k], v)
			}
		}
		if got.GetLabels()["app.kubernetes.io/instance"] != "sg" {
			t.Errorf("%s lacks the chart's labels: %v", o.GetName(), got.GetLabels())
		}
		gotSpec, _, _ := unstructured.NestedMap(got.Object, "spec")
		wantSpec, _, _ := unstructured.NestedMap(want, "spec")
		if selector, ok, _ := unstructured.NestedFieldCopy(gotSpec, "matchConstraints", "namespaceSelector"); ok {
			data, _ := yaml.Marshal(selector)
			if !strings.Contains(string(data), "- kube-system\n  - scaleguard-system\n") || !strings.Contains(string(data), "scaleguard.io/ignore") {
				t.Errorf("%s: namespaceSelector\n%s", o.GetName(), data)
			}
			unstructured.RemoveNestedField(gotSpec, "matchConstraints", "namespaceSelector")
			unstructured.RemoveNestedField(wantSpec, "matchConstraints", "namespaceSelector")
		}
		if !equality.Semantic.DeepEqual(normalize(t, gotSpec), normalize(t, wantSpec)) {
			t.Errorf("%s: the chart renders another spec than the export", o.GetName())
		}
	}
}

// normalize gives both sides the same number types.
func normalize(t *testing.T, v map[string]any) any {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChartRefusesOtherSettings: a setting the policies read that differs
// from the defaults they were made from stops the render, naming the key
// and the command that renders the policies of those settings.
func TestChartRefusesOtherSettings(t *testing.T) {
	for name, set := range map[string]string{
		"a rule's number":   "settings.rules.min-replicas.minimum=3",
		"a rule's action":   "settings.rules.requests-required.action=warn",
		"the mode":          "settings.mode=warn",
		"exempt namespaces": "settings.exemptNamespaces={kube-system,legacy}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, "--set", "admissionPolicies.enabled=true", "--set", set)
			key, _, _ := strings.Cut(set, "=")
			if err == nil || !strings.Contains(err.Error(), key) ||
				!strings.Contains(err.Error(), "scaleguard export --format admission-policy --config settings.yaml | kubectl apply -f -") {
				t.Errorf("--set %s rendered, or failed without naming %s and the export: %v", set, key, err)
			}
		})
	}
}
