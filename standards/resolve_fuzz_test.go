package standards

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// FuzzResolve feeds ScalingStandard specs a namespace admin could write:
// Resolve never panics, and an override it accepts gives valid settings
// within the bounds (minReplicas at least the floor, no rule off that was
// on, warn mode only where allowed).
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{
		"minReplicas: 3",
		"minReplicas: 1",
		"mode: warn",
		"actions: [{rule: requests-required, action: warn}, {rule: target-exists, action: deny}]",
		`actions: [{rule: min-replicas, action: "off"}]`,
		"behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 4, periodSeconds: 15}]}, scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 15}]}}",
		"behavior: {scaleUp: {selectPolicy: Disabled}, scaleDown: {policies: [{type: Pods, value: -1, periodSeconds: 0}]}}",
		"actions: [{rule: nope, action: maybe}]",
	} {
		f.Add(seed)
	}
	builtin := policies.Defaults()
	obj := &v1alpha1.ClusterScalingStandard{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if err := yaml.Unmarshal([]byte(bounded), &obj.Spec); err != nil {
		f.Fatal(err)
	}
	c, err := ParseCluster(obj)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		o := &v1alpha1.ScalingStandard{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "fuzz"}}
		if yaml.Unmarshal([]byte(spec), &o.Spec) != nil {
			return
		}
		e, err := Resolve(&builtin, []*Cluster{c}, nil, o)
		if e.Settings == nil {
			t.Fatal("no settings")
		}
		if err != nil {
			if e.Settings != nil && e.Settings.Source != c.Source() {
				t.Fatalf("a refused override left %q in force", e.Settings.Source)
			}
			return
		}
		s := e.Settings
		if verr := s.Validate(); len(verr) > 0 {
			t.Fatalf("accepted override gives invalid settings: %v\n%s", verr, spec)
		}
		if s.Rules.MinReplicas.Minimum < 2 || s.Mode != policies.Enforce {
			t.Fatalf("accepted override out of bounds: minimum %d mode %s\n%s", s.Rules.MinReplicas.Minimum, s.Mode, spec)
		}
		for _, r := range policies.Catalogue() {
			if was, now := c.Settings.Action(r.ID), s.Action(r.ID); strictness(now) < strictness(was) && r.ID != policies.RequestsRequired {
				t.Fatalf("accepted override relaxes %s from %s to %s\n%s", r.ID, was, now, spec)
			}
		}
	})
}
