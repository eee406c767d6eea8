package policies

import (
	"slices"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestParseSettings(t *testing.T) {
	tests := map[string]struct {
		yaml string
		// errs are substrings the error must hold; none means it parses.
		errs  []string
		check func(t *testing.T, s Settings)
	}{
		"empty file is the standard": {
			yaml: "",
			check: func(t *testing.T, s Settings) {
				if d := Defaults(); !apiequality.Semantic.DeepEqual(s, d) {
					t.Errorf("got %+v, want defaults", s)
				}
			},
		},
		"a value overrides, others keep their default": {
			yaml: "rules:\n  min-replicas:\n    minimum: 3\n",
			check: func(t *testing.T, s Settings) {
				if s.Rules.MinReplicas.Minimum != 3 || s.Rules.MinReplicas.Action != Mutate {
					t.Errorf("min-replicas = %+v", s.Rules.MinReplicas)
				}
				if s.Rules.MemoryTarget.AverageUtilization != 80 {
					t.Errorf("memory-target lost its default: %+v", s.Rules.MemoryTarget)
				}
			},
		},
		"warn mode and exempt namespaces": {
			yaml: "mode: warn\nexemptNamespaces: [kube-system, monitoring]\n",
			check: func(t *testing.T, s Settings) {
				if s.Mode != WarnOnly || len(s.ExemptNamespaces) != 2 {
					t.Errorf("got %+v", s)
				}
			},
		},
		"an opt-out label of one's own": {
			yaml: "optOutLabel: example.com/no-scaleguard\n",
			check: func(t *testing.T, s Settings) {
				if s.OptOutLabel != "example.com/no-scaleguard" {
					t.Errorf("optOutLabel = %q", s.OptOutLabel)
				}
			},
		},
		"an opt-out label that is no label key": {
			yaml: "optOutLabel: \"not a label/\"\n",
			errs: []string{`optOutLabel: Invalid value: "not a label/": not a label key`, "scaleguard.io/ignore"},
		},
		"an empty opt-out label": {
			yaml: "optOutLabel: \"\"\n",
			errs: []string{"optOutLabel:"},
		},
		"a behavior block replaces the standard's whole": {
			yaml: `rules:
  behavior-defaults:
    behavior:
      scaleUp:
        stabilizationWindowSeconds: 0
        selectPolicy: Max
        policies: [{type: Pods, value: 4, periodSeconds: 60}]
      scaleDown:
        stabilizationWindowSeconds: 600
        selectPolicy: Min
        policies: [{type: Pods, value: 1, periodSeconds: 120}]
`,
			check: func(t *testing.T, s Settings) {
				b := s.Rules.BehaviorDefaults.Behavior
				if len(b.ScaleUp.Policies) != 1 || b.ScaleUp.Policies[0].Value != 4 || *b.ScaleDown.StabilizationWindowSeconds != 600 {
					t.Errorf("behavior = %+v", b)
				}
			},
		},
		"a bare YAML off turns a rule off": {
			yaml: "rules:\n  target-exists:\n    action: off\n",
			check: func(t *testing.T, s Settings) {
				if s.Rules.TargetExists.Action != Off {
					t.Errorf("action = %q, want off", s.Rules.TargetExists.Action)
				}
			},
		},
		"unknown key is named": {
			yaml: "rules:\n  min-replicas:\n    minimun: 3\n",
			errs: []string{`unknown field "rules.min-replicas.minimun"`},
		},
		"unknown rule is named": {
			yaml: "rules:\n  request-required:\n    action: deny\n",
			errs: []string{`unknown field "rules.request-required"`},
		},
		"bad action names the rule and the choices": {
			yaml: "rules:\n  requests-required:\n    action: mutate\n",
			errs: []string{`settings: rules.requests-required.action: Unsupported value: "mutate": supported values: "deny", "warn", "off"`},
		},
		"several bad values are all reported": {
			yaml: "mode: strict\nrules:\n  min-replicas: {minimum: 0}\n  memory-target: {averageUtilization: 0}\n",
			errs: []string{"mode:", "rules.min-replicas.minimum", "rules.memory-target.averageUtilization"},
		},
		"a behavior the API server would refuse": {
			yaml: "rules:\n  behavior-defaults:\n    behavior:\n      scaleUp: {selectPolicy: Disabled, policies: [{type: Pods, value: 0, periodSeconds: 4000}]}\n",
			errs: []string{"behavior.scaleUp.selectPolicy", "behavior.scaleUp.policies[0].value", "behavior.scaleUp.policies[0].periodSeconds", "behavior.scaleDown: Required value"},
		},
		"not YAML": {
			yaml: "rules: [",
			errs: []string{"settings:"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSettings([]byte(tc.yaml))
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error mentioning %v", tc.errs)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not mention %q", err, e)
				}
			}
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	s := Defaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	// The shipped default of each rule, written out: the catalogue derives
	// Defaults() from RuleInfo.Default, so only a list kept apart from it
	// notices a default that changed by accident.
	want := map[string]Action{
		RequestsRequired: Deny, HPAAPIVersion: Deny, MinReplicas: Mutate, MemoryTarget: Mutate,
		BehaviorDefaults: Mutate, BehaviorConsistency: Deny, TargetExists: Warn, ScaleTargetKind: Deny,
		DuplicateHPA: Deny, TargetRequests: Deny, UtilizationReachable: Deny, HPAVPAConflict: Deny,
		MetricsAvailable: Warn, CostCeiling: Off, QuotaCeiling: Warn, DrainAtMinimum: Warn,
		SelectorOverlap: Warn, HPAReplicasConflict: Warn, ExemptionReason: Warn,
	}
	if len(want) != len(Catalogue()) {
		t.Errorf("the list names %d rules, the catalogue has %d", len(want), len(Catalogue()))
	}
	for _, r := range Catalogue() {
		if got := s.Action(r.ID); got != want[r.ID] {
			t.Errorf("%s: default action %s, want %s", r.ID, got, want[r.ID])
		}
	}
}

// Validate reports each problem as a field error at the key that holds
// it, of the kind that says what to do: an unsupported value lists the
// supported ones, a required value is missing, an invalid one is out of
// range.
func TestValidateFieldErrors(t *testing.T) {
	type want struct {
		typ   field.ErrorType
		field string
	}
	tests := map[string]struct {
		change func(s *Settings)
		want   []want
	}{
		"the defaults": {change: func(*Settings) {}},
		"a mode": {
			change: func(s *Settings) { s.Mode = "strict" },
			want:   []want{{field.ErrorTypeNotSupported, "mode"}},
		},
		"an empty exempt namespace": {
			change: func(s *Settings) { s.ExemptNamespaces = []string{"kube-system", " "} },
			want:   []want{{field.ErrorTypeRequired, "exemptNamespaces[1]"}},
		},
		"an owner without a kind": {
			change: func(s *Settings) {
				s.ExternallyManaged = append(s.ExternallyManaged, OwnerKind{APIGroup: "example.com"})
			},
			want: []want{{field.ErrorTypeRequired, "externallyManaged[1].kind"}},
		},
		"the numbers of every rule that has some": {
			change: func(s *Settings) {
				r := &s.Rules
				r.RequestsRequired.Resources = []corev1.ResourceName{corev1.ResourceCPU, ""}
				r.MinReplicas.Minimum = 0
				r.MemoryTarget.AverageUtilization = 1001
				r.BehaviorConsistency.SyncPeriodSeconds = 601
				r.CostCeiling.MonthlyBudget = -1
				r.CostCeiling.HoursPerMonth = 0
			},
			want: []want{
				{field.ErrorTypeRequired, "rules.requests-required.resources[1]"},
				{field.ErrorTypeInvalid, "rules.min-replicas.minimum"},
				{field.ErrorTypeInvalid, "rules.memory-target.averageUtilization"},
				{field.ErrorTypeInvalid, "rules.behavior-consistency.syncPeriodSeconds"},
				{field.ErrorTypeInvalid, "rules.cost-ceiling.monthlyBudget"},
				{field.ErrorTypeInvalid, "rules.cost-ceiling.hoursPerMonth"},
			},
		},
		"a behavior policy": {
			change: func(s *Settings) {
				s.Rules.BehaviorDefaults.Behavior.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{{Type: "Pod", Value: 1, PeriodSeconds: 60}}
				s.Rules.BehaviorDefaults.Behavior.ScaleDown.SelectPolicy = nil
			},
			want: []want{
				{field.ErrorTypeNotSupported, "rules.behavior-defaults.behavior.scaleUp.policies[0].type"},
				{field.ErrorTypeRequired, "rules.behavior-defaults.behavior.scaleDown.selectPolicy"},
			},
		},
		"a custom workload kind": {
			change: func(s *Settings) { s.WorkloadKinds = []WorkloadKind{rolloutKind, rolloutKind} },
			want:   []want{{field.ErrorTypeDuplicate, "workloadKinds[1].kind"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			tc.change(&s)
			var got []want
			for _, e := range s.Validate() {
				got = append(got, want{e.Type, e.Field})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v\nwant %v\n(%v)", got, tc.want, s.Validate())
			}
		})
	}
}

// Every rule's action is checked against its own catalogue entry: an
// action the rule lacks is refused at rules.<id>.action, naming the
// actions it has, and nothing else is.
func TestValidateActionsFromTheCatalogue(t *testing.T) {
	for _, r := range Catalogue() {
		t.Run(r.ID, func(t *testing.T) {
			for _, a := range []Action{Deny, Warn, Mutate, Off, "block"} {
				s := Defaults()
				if !s.SetAction(r.ID, a) {
					t.Fatalf("SetAction(%s) reports no such rule", r.ID)
				}
				errs := s.Validate()
				if r.Allows(a) {
					if len(errs) > 0 {
						t.Errorf("%s refused: %v", a, errs)
					}
					continue
				}
				if len(errs) != 1 || errs[0].Type != field.ErrorTypeNotSupported || errs[0].Field != "rules."+r.ID+".action" || errs[0].BadValue != a {
					t.Fatalf("%s: got %v, want one unsupported value at rules.%s.action", a, errs, r.ID)
				}
				for _, allowed := range r.Actions {
					if !strings.Contains(errs[0].Detail, `"`+string(allowed)+`"`) {
						t.Errorf("%s: %q does not offer %s", a, errs[0].Detail, allowed)
					}
				}
			}
		})
	}
}

// SetAction and Action reach the same field, and only for rules.
func TestSetAction(t *testing.T) {
	s := Defaults()
	if s.SetAction("no-such-rule", Deny) {
		t.Error("SetAction accepted an unknown rule")
	}
	if got := s.Action("no-such-rule"); got != Off {
		t.Errorf("Action of an unknown rule = %s, want off", got)
	}
	if !s.SetAction(CostCeiling, Deny) || s.Rules.CostCeiling.Action != Deny || s.Action(CostCeiling) != Deny {
		t.Errorf("SetAction(cost-ceiling, deny) left %s", s.Rules.CostCeiling.Action)
	}
}
