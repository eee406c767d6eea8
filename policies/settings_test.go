package policies

import (
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
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
			errs: []string{"optOutLabel:", `"not a label/" is not a label key`, "scaleguard.io/ignore"},
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
			errs: []string{"rules.requests-required.action", "deny, warn, off"},
		},
		"several bad values are all reported": {
			yaml: "mode: strict\nrules:\n  min-replicas: {minimum: 0}\n  memory-target: {averageUtilization: 0}\n",
			errs: []string{"mode:", "rules.min-replicas.minimum", "rules.memory-target.averageUtilization"},
		},
		"a behavior the API server would refuse": {
			yaml: "rules:\n  behavior-defaults:\n    behavior:\n      scaleUp: {selectPolicy: Disabled, policies: [{type: Pods, value: 0, periodSeconds: 4000}]}\n",
			errs: []string{"behavior.scaleUp.selectPolicy", "behavior.scaleUp.policies[0].value", "behavior.scaleUp.policies[0].periodSeconds", "behavior.scaleDown: missing"},
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
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range Catalogue() {
		if got := s.Action(r.ID); got != r.Actions[0] {
			t.Errorf("%s: default action %s, catalogue says %s", r.ID, got, r.Actions[0])
		}
	}
}
