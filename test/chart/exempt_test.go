package chart

import (
	"slices"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
)

// renderedSettings are the settings the chart renders into scaleguard's
// ConfigMap, read as scaleguard reads its settings file.
func renderedSettings(t *testing.T, objs []map[string]any) *policies.Settings {
	t.Helper()
	data, _ := find(t, objs, "ConfigMap")["data"].(map[string]any)["settings.yaml"].(string)
	s, err := policies.ParseSettings([]byte(data))
	if err != nil {
		t.Fatalf("the chart's settings.yaml is refused by scaleguard: %v\n%s", err, data)
	}
	return &s
}

// TestExemptNamespacesAreOneList renders the chart with the exemptions set
// the new way (settings), the old way (webhook.excludeNamespaces,
// webhook.optOutLabel) and not at all: in each, the settings scaleguard
// reads hold every exempt namespace and the opt-out label, and every
// webhook's and admission policy's namespaceSelector is exactly what
// celpolicy makes of those settings.
func TestExemptNamespacesAreOneList(t *testing.T) {
	tests := map[string]struct {
		set        []string
		namespaces []string
		label      string
	}{
		"defaults": {
			namespaces: []string{"kube-system", releaseNamespace},
			label:      policies.DefaultOptOutLabel,
		},
		"in the settings": {
			set:        []string{"settings.exemptNamespaces={legacy,kube-system}", "settings.optOutLabel=example.com/no-scaleguard"},
			namespaces: []string{"legacy", "kube-system", releaseNamespace},
			label:      "example.com/no-scaleguard",
		},
		"older values: webhook.excludeNamespaces and webhook.optOutLabel": {
			set:        []string{"webhook.excludeNamespaces={team-a,kube-system}", "webhook.optOutLabel=example.com/no-scaleguard", "admissionPolicies.enabled=true"},
			namespaces: []string{"kube-system", releaseNamespace, "team-a"},
			label:      "example.com/no-scaleguard",
		},
		"both ways, the same label": {
			set:        []string{"settings.exemptNamespaces={legacy}", "webhook.excludeNamespaces={team-a}", "webhook.optOutLabel=example.com/off", "settings.optOutLabel=example.com/off"},
			namespaces: []string{"legacy", "kube-system", releaseNamespace, "team-a"},
			label:      "example.com/off",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			objs := objects(t, render(t, args...))
			s := renderedSettings(t, objs)
			if !slices.Equal(s.ExemptNamespaces, tc.namespaces) || s.OptOutLabel != tc.label {
				t.Fatalf("settings exempt %q and label %q, want %q and %q", s.ExemptNamespaces, s.OptOutLabel, tc.namespaces, tc.label)
			}
			want := celpolicy.NamespaceSelector(s)
			selectors := 0
			check := func(what string, selector any) {
				t.Helper()
				selectors++
				m, _ := selector.(map[string]any)
				var got metav1.LabelSelector
				decodeInto(t, m, &got)
				if !apiequality.Semantic.DeepEqual(&got, want) {
					t.Errorf("%s: namespaceSelector %+v, want the settings' %+v", what, got, want)
				}
			}
			for _, o := range objs {
				switch o["kind"] {
				case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
					for _, w := range o["webhooks"].([]any) {
						w := w.(map[string]any)
						check(w["name"].(string), w["namespaceSelector"])
					}
				case "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy":
					constraints := o["spec"].(map[string]any)["matchConstraints"].(map[string]any)
					check(o["kind"].(string)+" "+o["metadata"].(map[string]any)["name"].(string), constraints["namespaceSelector"])
				}
			}
			if selectors < len(celpolicy.Webhooks) {
				t.Errorf("only %d namespaceSelectors rendered", selectors)
			}
		})
	}
}

// TestOptOutLabelConflict: the old value and the setting may not name two
// different labels; the render says which to keep.
func TestOptOutLabelConflict(t *testing.T) {
	_, stderr, err := helm(t, "template", "sg", chartDir(t), "--set", "webhook.optOutLabel=example.com/a", "--set", "settings.optOutLabel=example.com/b")
	if err == nil {
		t.Fatal("helm template rendered two different opt-out labels")
	}
	if !strings.Contains(stderr, "webhook.optOutLabel (example.com/a) and settings.optOutLabel (example.com/b) name different labels") {
		t.Errorf("the error does not name both values:\n%s", stderr)
	}
}
