package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
)

func TestExportUsage(t *testing.T) {
	runCases(t, "export", map[string]cliCase{
		"admission-policy is a format": {args: []string{"--format", "nope"}, code: exitUsage, stderr: []string{"admission-policy", "webhook-configurations"}},
		"a bad settings file":          {args: []string{"--format", "admission-policy", "--config", "/nonexistent/settings.yaml"}, code: exitUsage, stderr: []string{"settings.yaml"}},
	})
}

// exported runs `scaleguard export --format admission-policy` with args
// and decodes what it prints, document by document.
func exported(t *testing.T, args ...string) []metav1.Object {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"export", "--format", "admission-policy"}, args...), strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	var out []metav1.Object
	for i, doc := range strings.Split(stdout.String(), "\n---\n") {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var obj metav1.Object
		switch head.Kind {
		case "ValidatingAdmissionPolicy":
			obj = &admissionregistrationv1.ValidatingAdmissionPolicy{}
		case "ValidatingAdmissionPolicyBinding":
			obj = &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
		case "MutatingAdmissionPolicy":
			obj = &admissionregistrationv1.MutatingAdmissionPolicy{}
		case "MutatingAdmissionPolicyBinding":
			obj = &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
		default:
			t.Fatalf("document %d is a %q:\n%s", i, head.Kind, doc)
		}
		if head.APIVersion != "admissionregistration.k8s.io/v1" {
			t.Errorf("document %d: apiVersion %q", i, head.APIVersion)
		}
		// Strict: a field the API types do not know is a bug in the export.
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("document %d (%s): %v", i, head.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

// TestExportAdmissionPolicies: the output is a YAML stream of the four
// kinds, every policy with its binding, and it is exactly what
// celpolicy.AdmissionPolicies makes of the settings.
func TestExportAdmissionPolicies(t *testing.T) {
	objs := exported(t)
	defined, bindings := map[string]bool{}, map[string]string{}
	for _, o := range objs {
		switch b := o.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicy:
			defined[kindOf(o)+"/"+o.GetName()] = true
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			bindings["ValidatingAdmissionPolicy/"+b.Spec.PolicyName] = b.Name
		case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
			bindings["MutatingAdmissionPolicy/"+b.Spec.PolicyName] = b.Name
		}
	}
	if len(defined) == 0 || len(defined) != len(bindings) {
		t.Fatalf("%d policies, %d bindings", len(defined), len(bindings))
	}
	for p := range defined {
		if _, ok := bindings[p]; !ok {
			t.Errorf("%s has no binding", p)
		}
	}
	for _, want := range []string{"ValidatingAdmissionPolicy/scaleguard-requests-required", "MutatingAdmissionPolicy/scaleguard-min-replicas",
		"ValidatingAdmissionPolicy/scaleguard-behavior-consistency"} {
		if !defined[want] {
			t.Errorf("the defaults export no %s", want)
		}
	}
	d := policies.Defaults()
	if n := len(celpolicy.AdmissionPolicies(&d)); n != len(objs) {
		t.Errorf("printed %d objects, AdmissionPolicies makes %d", len(objs), n)
	}
}

func kindOf(o metav1.Object) string {
	switch o.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return "ValidatingAdmissionPolicy"
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return "MutatingAdmissionPolicy"
	}
	return ""
}

// TestExportAdmissionPoliciesHonoursConfig: a rule off disappears, warn
// mode binds nothing with Deny.
func TestExportAdmissionPoliciesHonoursConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "settings.yaml")
	if err := os.WriteFile(config, []byte("mode: warn\nrules:\n  min-replicas: {action: off}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := exported(t, "--config", config)
	if len(objs) == 0 {
		t.Fatal("nothing exported")
	}
	for _, o := range objs {
		if o.GetLabels()[celpolicy.LabelRule] == policies.MinReplicas || strings.Contains(o.GetName(), policies.MinReplicas) {
			t.Errorf("min-replicas is off, yet %s is exported", o.GetName())
		}
		if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
			for _, a := range b.Spec.ValidationActions {
				if a == admissionregistrationv1.Deny {
					t.Errorf("warn mode, yet binding %s denies", b.Name)
				}
			}
		}
		if rec := o.GetAnnotations()[celpolicy.AnnotationSettings]; rec != "" && !strings.Contains(rec, `"mode":"warn"`) {
			t.Errorf("%s records settings %s, not the file's", o.GetName(), rec)
		}
	}
}

// TestChartAdmissionPoliciesAreCurrent fails when the chart's
// files/admission-policies.yaml is not the export of the chart's default
// settings.
func TestChartAdmissionPoliciesAreCurrent(t *testing.T) {
	const file = "charts/scaleguard/files/admission-policies.yaml"
	values, err := os.ReadFile("../../charts/scaleguard/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Settings map[string]any `json:"settings"`
	}
	if err := yaml.Unmarshal(values, &chart); err != nil {
		t.Fatal(err)
	}
	settingsYAML, err := yaml.Marshal(chart.Settings)
	if err != nil {
		t.Fatal(err)
	}
	chartSettings, err := policies.ParseSettings(settingsYAML)
	if err != nil {
		t.Fatalf("the chart's settings: %v", err)
	}
	d := policies.Defaults()
	if celpolicy.SettingsRecord(&chartSettings) != celpolicy.SettingsRecord(&d) {
		t.Fatalf("the chart's settings are no longer scaleguard's defaults where the admission policies read them; "+
			"generate %s with --config and the chart's settings, and change this test", file)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "--format", "admission-policy"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("export: %s", stderr.String())
	}
	got, err := os.ReadFile(filepath.Join("../..", file))
	if err != nil {
		t.Fatalf("%v; run: go run ./cmd/scaleguard export --format admission-policy > %s", err, file)
	}
	if !bytes.Equal(got, stdout.Bytes()) {
		t.Fatalf("%s is not the export of the chart's settings; run:\n  go run ./cmd/scaleguard export --format admission-policy > %s", file, file)
	}
	// The chart's template reads the documents one by one.
	if n := len(strings.Split(string(got), "\n---\n")); n != len(celpolicy.AdmissionPolicies(&d)) {
		t.Errorf("%s splits into %d documents", file, n)
	}
}
