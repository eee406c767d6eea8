package v1alpha1

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

// Every key of the settings file is a field of Standard: the built-in
// standard, written out in full, reads into a Standard strictly and back
// into the same settings.
func TestStandardHasEverySetting(t *testing.T) {
	d := policies.Defaults()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var s Standard
	strict, err := kjson.UnmarshalStrict(data, &s, kjson.DisallowUnknownFields)
	if err != nil || len(strict) > 0 {
		t.Fatalf("a settings key has no field in Standard: %v %v", err, strict)
	}
	got, err := s.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got, d) {
		t.Errorf("round trip changed the settings:\n got %+v\nwant %+v", got, d)
	}
}

func TestStandardSettings(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		check   func(policies.Settings) bool
		wantErr string
	}{
		"empty is the built-in standard": {
			yaml:  "{}",
			check: func(s policies.Settings) bool { return equality.Semantic.DeepEqual(s, policies.Defaults()) },
		},
		"a number keeps its rule's action": {
			yaml: "rules: {min-replicas: {minimum: 3}}",
			check: func(s policies.Settings) bool {
				return s.Rules.MinReplicas.Minimum == 3 && s.Rules.MinReplicas.Action == policies.Mutate
			},
		},
		"an empty list means none": {
			yaml:  "exemptNamespaces: []",
			check: func(s policies.Settings) bool { return len(s.ExemptNamespaces) == 0 },
		},
		"an absent list keeps the default": {
			yaml: "mode: warn",
			check: func(s policies.Settings) bool {
				return s.Mode == policies.WarnOnly && s.IsExemptNamespace("kube-system")
			},
		},
		"a number out of range names the field under spec": {
			yaml:    "rules: {min-replicas: {minimum: 0}}",
			wantErr: "spec.rules.min-replicas.minimum: Invalid value: 0: must be at least 1",
		},
		"a bad value names the field under spec": {
			yaml:    "rules: {requests-required: {action: mutate}}",
			wantErr: `spec.rules.requests-required.action: Unsupported value: "mutate": supported values: "deny", "warn", "off"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var s Standard
			if err := yaml.UnmarshalStrict([]byte(tc.yaml), &s); err != nil {
				t.Fatal(err)
			}
			got, err := s.Settings()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("settings %+v", got)
			}
		})
	}
}

// RuleID's enum lists exactly the rules of the catalogue.
func TestRuleIDEnumIsTheCatalogue(t *testing.T) {
	src, err := os.ReadFile("standard_types.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "// RuleID names")
	_, enum, _ := strings.Cut(rest, "+kubebuilder:validation:Enum=")
	enum, _, _ = strings.Cut(enum, "\n")
	got := strings.Split(enum, ";")
	var want []string
	for _, r := range policies.Catalogue() {
		want = append(want, r.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("RuleID enum %v, catalogue %v", got, want)
	}
}

// ScalingStandardSpec.Actions' markers repeat the catalogue too: at most
// one entry per rule, and mutate only for the rules that can mutate.
func TestActionsMarkersAreTheCatalogue(t *testing.T) {
	src, err := os.ReadFile("scalingstandard_types.go")
	if err != nil {
		t.Fatal(err)
	}
	_, markers, _ := strings.Cut(string(src), "// Actions changes the action of named rules")
	markers, _, _ = strings.Cut(markers, "Actions []RuleAction")
	var mutating []string
	for _, r := range policies.Catalogue() {
		if r.Allows(policies.Mutate) {
			mutating = append(mutating, "'"+r.ID+"'")
		}
	}
	for _, want := range []string{
		fmt.Sprintf("+kubebuilder:validation:MaxItems=%d\n", len(policies.Catalogue())),
		"a.rule in [" + strings.Join(mutating, ", ") + "]",
	} {
		if !strings.Contains(markers, want) {
			t.Errorf("ScalingStandardSpec.Actions' markers lack %q: edit them to follow the catalogue and run make generate", want)
		}
	}
}
