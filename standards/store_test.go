package standards

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

type fixedFallback struct{ s *policies.Settings }

func (f *fixedFallback) Current() *policies.Settings { return f.s }

func clusterObj(t *testing.T, name string, generation int64, spec string) v1alpha1.ClusterScalingStandard {
	t.Helper()
	obj := v1alpha1.ClusterScalingStandard{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: generation}}
	if err := yaml.UnmarshalStrict([]byte(spec), &obj.Spec); err != nil {
		t.Fatal(err)
	}
	return obj
}

func overrideObj(t *testing.T, ns, name string, generation int64, spec string) v1alpha1.ScalingStandard {
	t.Helper()
	obj := v1alpha1.ScalingStandard{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: generation}}
	if err := yaml.UnmarshalStrict([]byte(spec), &obj.Spec); err != nil {
		t.Fatal(err)
	}
	return obj
}

func condition(st v1alpha1.StandardStatus, typ string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func TestStoreKeepsTheLastValidStandard(t *testing.T) {
	builtin := policies.Defaults()
	labels := map[string]map[string]string{"batch": {"team": "batch"}}
	store := NewStore(&fixedFallback{&builtin}, func(ns string) (map[string]string, error) { return labels[ns], nil })

	if got := store.For("team-a"); got != &builtin || store.InForce() {
		t.Fatal("without standards the fallback must apply")
	}
	good := clusterObj(t, "default", 1, "rules: {min-replicas: {minimum: 3}}\noverrides: {minReplicasFloor: 2}")
	cs, _ := store.Update([]v1alpha1.ClusterScalingStandard{good}, []v1alpha1.ScalingStandard{overrideObj(t, "team-a", "payments", 1, "minReplicas: 5")})
	if c := condition(cs["default"], v1alpha1.ConditionValid); c.Status != metav1.ConditionTrue || cs["default"].EffectiveMinReplicas != 3 {
		t.Fatalf("status %+v", cs["default"])
	}
	if s := store.For("team-b"); s.Rules.MinReplicas.Minimum != 3 || s.Source != "ClusterScalingStandard default" {
		t.Fatalf("team-b: %d %q", s.Rules.MinReplicas.Minimum, s.Source)
	}
	if s := store.For("team-a"); s.Rules.MinReplicas.Minimum != 5 || s.Source != "ScalingStandard team-a/payments" {
		t.Fatalf("team-a: %d %q", s.Rules.MinReplicas.Minimum, s.Source)
	}
	global := store.Current()

	// An invalid generation of the cluster standard and an out-of-bounds
	// generation of the override: both keep their last valid one.
	bad := clusterObj(t, "default", 2, "rules: {requests-required: {action: mutate}, min-replicas: {minimum: 3}}\noverrides: {minReplicasFloor: 2}")
	cs, os := store.Update([]v1alpha1.ClusterScalingStandard{bad}, []v1alpha1.ScalingStandard{overrideObj(t, "team-a", "payments", 2, "minReplicas: 1")})
	valid, accepted := condition(cs["default"], v1alpha1.ConditionValid), condition(cs["default"], v1alpha1.ConditionAccepted)
	if valid.Status != metav1.ConditionFalse || !strings.Contains(valid.Message, "spec.rules.requests-required.action") ||
		accepted.Reason != v1alpha1.ReasonLastValidKept || cs["default"].ObservedGeneration != 2 {
		t.Errorf("invalid cluster standard's status: %+v", cs["default"])
	}
	o := os["team-a/payments"]
	if c := condition(o, v1alpha1.ConditionValid); c.Reason != v1alpha1.ReasonOutOfBounds || !strings.Contains(c.Message, "overrides.minReplicasFloor 2") {
		t.Errorf("out-of-bounds override's status: %+v", o)
	}
	if s := store.For("team-a"); s.Rules.MinReplicas.Minimum != 5 {
		t.Errorf("team-a: %d, want the last valid override's 5", s.Rules.MinReplicas.Minimum)
	}
	if s := store.For("team-b"); s.Action(policies.RequestsRequired) != policies.Deny {
		t.Error("the invalid cluster standard replaced the valid one")
	}
	if store.Current() == global {
		t.Error("every update must give new cluster-wide settings, so that the conditions are synced again")
	}

	// A selecting standard for the batch namespace; the rest keep the default.
	batch := clusterObj(t, "batch", 1, "namespaceSelector: {matchLabels: {team: batch}}\nmode: warn")
	store.Update([]v1alpha1.ClusterScalingStandard{good, batch}, nil)
	if s := store.For("batch"); s.Mode != policies.WarnOnly || s.Source != "ClusterScalingStandard batch" {
		t.Errorf("batch: %s %q", s.Mode, s.Source)
	}
	if s := store.For("team-a"); s.Mode != policies.Enforce || s.Source != "ClusterScalingStandard default" {
		t.Errorf("team-a after its override was deleted: %s %q", s.Mode, s.Source)
	}

	// Every standard deleted: the fallback, never no rules.
	store.Update(nil, nil)
	if got := store.For("team-a"); got != &builtin || store.InForce() {
		t.Error("with every standard deleted the fallback must apply")
	}
}

// All lists a superset of the settings any namespace is judged with.
func TestStoreAllCoversEveryNamespace(t *testing.T) {
	builtin := policies.Defaults()
	store := NewStore(&fixedFallback{&builtin}, nil)
	store.Update([]v1alpha1.ClusterScalingStandard{
		clusterObj(t, "default", 1, "overrides: {minReplicasFloor: 2}"),
		clusterObj(t, "batch", 1, "namespaceSelector: {matchLabels: {team: batch}}\nrules: {min-replicas: {minimum: 4}}"),
	}, []v1alpha1.ScalingStandard{overrideObj(t, "team-a", "payments", 1, "minReplicas: 3")})
	minimums := map[int32]bool{}
	for _, s := range store.All() {
		minimums[s.Rules.MinReplicas.Minimum] = true
	}
	for _, want := range []int32{2, 3, 4} {
		if !minimums[want] {
			t.Errorf("All() has no standard with minimum %d: %v", want, minimums)
		}
	}
}

func TestSecondScalingStandardInANamespaceIsShadowed(t *testing.T) {
	builtin := policies.Defaults()
	store := NewStore(&fixedFallback{&builtin}, nil)
	_, os := store.Update(nil, []v1alpha1.ScalingStandard{
		overrideObj(t, "team-a", "b", 1, "minReplicas: 4"),
		overrideObj(t, "team-a", "a", 1, "minReplicas: 3"),
	})
	if c := condition(os["team-a/b"], v1alpha1.ConditionAccepted); c.Reason != v1alpha1.ReasonShadowed || !strings.Contains(c.Message, "team-a/a") {
		t.Errorf("second standard: %+v", c)
	}
	if s := store.For("team-a"); s.Rules.MinReplicas.Minimum != 3 {
		t.Errorf("team-a: %d, want the first by name's 3", s.Rules.MinReplicas.Minimum)
	}
}

// A ScalingStandard refused against what the informers hold is judged
// again against the standards read from the API server.
func TestValidateReadsAgainBeforeRefusing(t *testing.T) {
	builtin := policies.Defaults()
	store := NewStore(&fixedFallback{&builtin}, nil)
	relax := overrideObj(t, "team-a", "relax", 1, "actions: [{rule: requests-required, action: warn}]")
	if err := store.Validate(t.Context(), &relax); err == nil || !strings.Contains(err.Error(), "overrides.relaxableRules") {
		t.Fatalf("without a refresh: %v", err)
	}
	reads := 0
	store.SetRefresh(func(context.Context) error {
		reads++
		store.Update([]v1alpha1.ClusterScalingStandard{clusterObj(t, "default", 1, "overrides: {relaxableRules: [requests-required]}")}, nil)
		return nil
	})
	if err := store.Validate(t.Context(), &relax); err != nil || reads != 1 {
		t.Errorf("after reading the new cluster standard: %v (%d reads)", err, reads)
	}
	if err := store.Validate(t.Context(), &relax); err != nil || reads != 1 {
		t.Errorf("an accepted override must not read again: %v (%d reads)", err, reads)
	}
}

// Reviews read while the informers update: run with -race.
func TestStoreConcurrentReadsAndUpdates(t *testing.T) {
	builtin := policies.Defaults()
	store := NewStore(&fixedFallback{&builtin}, func(string) (map[string]string, error) { return map[string]string{"team": "a"}, nil })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			store.Update([]v1alpha1.ClusterScalingStandard{
				clusterObj(t, "default", int64(i), "overrides: {minReplicasFloor: 2}"),
				clusterObj(t, "a", int64(i), "namespaceSelector: {matchLabels: {team: a}}"),
			}, []v1alpha1.ScalingStandard{overrideObj(t, "team-a", "p", int64(i), "minReplicas: 3")})
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
			if s := store.For("team-a"); s == nil || s.Rules.MinReplicas.Minimum < 2 {
				t.Fatal("no valid settings while updating")
			}
			_ = store.All()
			_ = store.Current()
		}
	}
}
