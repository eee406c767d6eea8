package standards

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

func clusterStandard(t *testing.T, name, spec string) *Cluster {
	t.Helper()
	obj := &v1alpha1.ClusterScalingStandard{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := yaml.UnmarshalStrict([]byte(spec), &obj.Spec); err != nil {
		t.Fatal(err)
	}
	c, err := ParseCluster(obj)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func override(t *testing.T, spec string) *v1alpha1.ScalingStandard {
	t.Helper()
	obj := &v1alpha1.ScalingStandard{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "payments"}}
	if err := yaml.UnmarshalStrict([]byte(spec), &obj.Spec); err != nil {
		t.Fatal(err)
	}
	return obj
}

const bounded = `
rules: {min-replicas: {minimum: 2}}
overrides:
  minReplicasFloor: 2
  relaxableRules: [requests-required]
  replaceBehavior: true
`

func TestResolve(t *testing.T) {
	builtin := policies.Defaults()
	tests := map[string]struct {
		clusters []string // name=spec
		labels   map[string]string
		override string // "" for none
		check    func(t *testing.T, e Effective)
		wantErr  []string
	}{
		"no standard at all is the fallback, never no rules": {
			check: func(t *testing.T, e Effective) {
				if e.Settings != &builtin || e.Cluster != nil {
					t.Errorf("got %+v", e)
				}
			},
		},
		"the default applies and names itself": {
			clusters: []string{"default=" + bounded},
			check: func(t *testing.T, e Effective) {
				if e.Settings.Source != "ClusterScalingStandard default" || e.Settings.Rules.MinReplicas.Minimum != 2 {
					t.Errorf("got %q %d", e.Settings.Source, e.Settings.Rules.MinReplicas.Minimum)
				}
			},
		},
		"a selecting standard wins over the default, with the default's cluster-wide settings": {
			clusters: []string{"default=exemptNamespaces: [ops]", "batch=namespaceSelector: {matchLabels: {team: batch}}\nmode: warn"},
			labels:   map[string]string{"team": "batch"},
			check: func(t *testing.T, e Effective) {
				if e.Cluster.Name != "batch" || e.Settings.Mode != policies.WarnOnly || !e.Settings.IsExemptNamespace("ops") {
					t.Errorf("got %s mode %s exempt %v", e.Cluster.Name, e.Settings.Mode, e.Settings.ExemptNamespaces)
				}
			},
		},
		"a selecting standard does not apply to other namespaces": {
			clusters: []string{"default=" + bounded, "batch=namespaceSelector: {matchLabels: {team: batch}}\nmode: warn"},
			labels:   map[string]string{"team": "web"},
			check: func(t *testing.T, e Effective) {
				if e.Cluster.Name != "default" {
					t.Errorf("got %s", e.Cluster.Name)
				}
			},
		},
		"raising minReplicas": {
			clusters: []string{"default=" + bounded},
			override: "minReplicas: 3",
			check: func(t *testing.T, e Effective) {
				if e.Settings.Rules.MinReplicas.Minimum != 3 || e.Settings.Source != "ScalingStandard team-a/payments" {
					t.Errorf("got %d %q", e.Settings.Rules.MinReplicas.Minimum, e.Settings.Source)
				}
			},
		},
		"relaxing a listed rule": {
			clusters: []string{"default=" + bounded},
			override: "actions: [{rule: requests-required, action: warn}]",
			check: func(t *testing.T, e Effective) {
				if e.Settings.Action(policies.RequestsRequired) != policies.Warn {
					t.Errorf("got %s", e.Settings.Action(policies.RequestsRequired))
				}
			},
		},
		"tightening any rule": {
			clusters: []string{"default=" + bounded},
			override: "actions: [{rule: target-exists, action: deny}]",
			check: func(t *testing.T, e Effective) {
				if e.Settings.Action(policies.TargetExists) != policies.Deny {
					t.Errorf("got %s", e.Settings.Action(policies.TargetExists))
				}
			},
		},
		"lowering minReplicas below the floor names the bound": {
			clusters: []string{"default=" + bounded},
			override: "minReplicas: 1",
			wantErr:  []string{"spec.minReplicas: 1 is below overrides.minReplicasFloor 2", "ClusterScalingStandard default"},
			check: func(t *testing.T, e Effective) {
				if e.Settings.Rules.MinReplicas.Minimum != 2 || e.Settings.Source != "ClusterScalingStandard default" {
					t.Errorf("an out-of-bounds override must leave the cluster standard in force, got %d %q", e.Settings.Rules.MinReplicas.Minimum, e.Settings.Source)
				}
			},
		},
		"relaxing an unlisted rule names the bound": {
			clusters: []string{"default=" + bounded},
			override: "actions: [{rule: hpa-api-version, action: warn}]",
			wantErr:  []string{"spec.actions[rule=hpa-api-version].action", "overrides.relaxableRules does not list it"},
		},
		"turning a rule off is never allowed": {
			clusters: []string{"default=" + bounded},
			override: "actions: [{rule: requests-required, action: \"off\"}]",
			wantErr:  []string{"may not go from deny to off"},
		},
		"an action the rule does not have": {
			clusters: []string{"default=" + bounded},
			override: "actions: [{rule: requests-required, action: mutate}]",
			wantErr:  []string{`requests-required cannot be "mutate"`},
		},
		"warn mode without overrides.warnMode": {
			clusters: []string{"default=" + bounded},
			override: "mode: warn",
			wantErr:  []string{"spec.mode: warn is not allowed: overrides.warnMode is false"},
		},
		"warn mode with overrides.warnMode": {
			clusters: []string{"default=overrides: {warnMode: true}"},
			override: "mode: warn",
			check: func(t *testing.T, e Effective) {
				if e.Settings.Mode != policies.WarnOnly {
					t.Errorf("got %s", e.Settings.Mode)
				}
			},
		},
		"replacing the behavior without overrides.replaceBehavior": {
			clusters: []string{"default=rules: {min-replicas: {minimum: 2}}"},
			override: "behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 4, periodSeconds: 15}]}, scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 15}]}}",
			wantErr:  []string{"spec.behavior: the behavior may not be replaced: overrides.replaceBehavior is false"},
		},
		"replacing the behavior with one that passes behavior-consistency": {
			clusters: []string{"default=" + bounded},
			override: "behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 4, periodSeconds: 15}]}, scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 15}]}}",
			check: func(t *testing.T, e Effective) {
				if e.Settings.Rules.BehaviorDefaults.Behavior.ScaleUp.Policies[0].Value != 4 {
					t.Errorf("got %+v", e.Settings.Rules.BehaviorDefaults.Behavior)
				}
			},
		},
		"replacing the behavior with one too slow for behavior-consistency": {
			clusters: []string{"default=" + bounded},
			override: "behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 1, periodSeconds: 600}]}, scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 15}]}}",
			wantErr:  []string{"spec.behavior: fails behavior-consistency between 2 and 20 replicas"},
		},
		"a behavior with one direction names the field of the override": {
			clusters: []string{"default=" + bounded},
			override: "behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 4, periodSeconds: 15}]}}",
			wantErr:  []string{"spec.behavior.scaleDown: Required value"},
		},
		"without any cluster standard a namespace may only tighten": {
			override: "minReplicas: 1",
			wantErr:  []string{"below overrides.minReplicasFloor 2", "the built-in standard"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var clusters []*Cluster
			for _, c := range tc.clusters {
				n, spec, _ := strings.Cut(c, "=")
				clusters = append(clusters, clusterStandard(t, n, spec))
			}
			var o *v1alpha1.ScalingStandard
			if tc.override != "" {
				o = override(t, tc.override)
			}
			e, err := Resolve(&builtin, clusters, tc.labels, o)
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to say %q", err, want)
				}
			}
			if e.Settings == nil {
				t.Fatal("no settings: Resolve must always give a standard")
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestParseClusterRefusesItsOwnBounds(t *testing.T) {
	for name, tc := range map[string]struct {
		name, spec, want string
	}{
		"floor above the minimum": {"default", "rules: {min-replicas: {minimum: 2}}\noverrides: {minReplicasFloor: 3}", "spec.overrides.minReplicasFloor: 3 is above rules.min-replicas.minimum 2"},
		"bad setting":             {"default", "rules: {memory-target: {averageUtilization: 0}}", "spec.rules.memory-target.averageUtilization"},
		"default with a selector": {"default", "namespaceSelector: {}", "takes none"},
		"other without selector":  {"batch", "{}", "any other needs one"},
	} {
		t.Run(name, func(t *testing.T) {
			obj := &v1alpha1.ClusterScalingStandard{ObjectMeta: metav1.ObjectMeta{Name: tc.name}}
			if err := yaml.UnmarshalStrict([]byte(tc.spec), &obj.Spec); err != nil {
				t.Fatal(err)
			}
			if _, err := ParseCluster(obj); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
