package chart

import (
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// With custom workload kinds listed in settings.workloadKinds, the chart
// renders them into scaleguard's settings, the workload webhooks' rules
// exactly as webhook/configuration writes them (so scaleguard's sync has
// nothing to change), and read access to them in the ClusterRole.
func TestCustomWorkloadKinds(t *testing.T) {
	objs := objects(t, render(t,
		"--set", "settings.workloadKinds[0].apiGroup=argoproj.io,settings.workloadKinds[0].version=v1alpha1,settings.workloadKinds[0].kind=Rollout,settings.workloadKinds[0].resource=rollouts",
		"--set", "settings.workloadKinds[1].apiGroup=apps.kruise.io,settings.workloadKinds[1].version=v1alpha1,settings.workloadKinds[1].kind=CloneSet,settings.workloadKinds[1].resource=clonesets",
	))
	s := renderedSettings(t, objs)
	want := []policies.WorkloadKind{
		{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"},
		{APIGroup: "apps.kruise.io", Version: "v1alpha1", Kind: "CloneSet", Resource: "clonesets"},
	}
	if !slices.Equal(s.WorkloadKinds, want) {
		t.Errorf("settings.workloadKinds rendered as %+v, want %+v", s.WorkloadKinds, want)
	}

	var mutating admissionregistrationv1.MutatingWebhookConfiguration
	var validating admissionregistrationv1.ValidatingWebhookConfiguration
	decodeInto(t, find(t, objs, "MutatingWebhookConfiguration"), &mutating)
	decodeInto(t, find(t, objs, "ValidatingWebhookConfiguration"), &validating)
	wantMutating, wantValidating := configuration.Configurations(install{}.options(t, objs))
	sameYAML(t, "MutatingWebhookConfiguration", &mutating, wantMutating)
	sameYAML(t, "ValidatingWebhookConfiguration", &validating, wantValidating)

	var role rbacv1.ClusterRole
	decodeInto(t, find(t, objs, "ClusterRole"), &role)
	for _, k := range want {
		found := slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Equal(r.APIGroups, []string{k.APIGroup}) && slices.Equal(r.Resources, []string{k.Resource}) &&
				slices.Equal(r.Verbs, []string{"get", "list", "watch"})
		})
		if !found {
			t.Errorf("the ClusterRole does not let scaleguard watch %s %s: %+v", k.APIGroup, k.Resource, role.Rules)
		}
	}
}
