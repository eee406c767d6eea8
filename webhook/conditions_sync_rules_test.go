package webhook

import (
	"context"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
)

// A kind listed in settings.workloadKinds is added to the rules of the two
// workload webhooks, and removed when it is no longer listed; the HPA
// webhooks and a webhook of someone else's keep their rules.
func TestConditionsSyncRules(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	m, v := installed()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(m, v).Build()
	listed := policies.Defaults()
	listed.WorkloadKinds = []policies.WorkloadKind{{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}}
	sync := NewConditionsSync(c, c, "sg", StaticSettings{S: &listed}, NewMetrics(), logr.Discard())

	// resources lists group/version/resource of every rule of each webhook.
	resources := func() map[string][]string {
		t.Helper()
		gm, gv := &admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: "sg"}, gm); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(ctx, client.ObjectKey{Name: "sg"}, gv); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		add := func(name string, rules []admissionregistrationv1.RuleWithOperations) {
			for _, r := range rules {
				for _, g := range r.APIGroups {
					for _, ver := range r.APIVersions {
						for _, res := range r.Resources {
							out[name] = append(out[name], g+"/"+ver+"/"+res)
						}
					}
				}
			}
		}
		for _, w := range gm.Webhooks {
			add(w.Name, w.Rules)
		}
		for _, w := range gv.Webhooks {
			add(w.Name, w.Rules)
		}
		return out
	}

	if err := sync.Sync(ctx, &listed); err != nil {
		t.Fatal(err)
	}
	got := resources()
	for _, w := range []celpolicy.Webhook{celpolicy.WorkloadMutate, celpolicy.WorkloadValidate} {
		if !slices.Contains(got[string(w)], "argoproj.io/v1alpha1/rollouts") || !slices.Contains(got[string(w)], "apps/v1/deployments") {
			t.Errorf("%s rules = %v, want the listed Rollouts beside Deployments", w, got[string(w)])
		}
	}
	for _, name := range []string{string(celpolicy.HPAValidate), string(celpolicy.HPAMutate), "other.example.com"} {
		if slices.Contains(got[name], "argoproj.io/v1alpha1/rollouts") {
			t.Errorf("%s got the Rollout rule: %v", name, got[name])
		}
	}

	defaults := policies.Defaults()
	if err := sync.Sync(ctx, &defaults); err != nil {
		t.Fatal(err)
	}
	if got := resources()[string(celpolicy.WorkloadValidate)]; !slices.Equal(got, []string{"apps/v1/deployments", "apps/v1/statefulsets"}) {
		t.Errorf("after the kind was unlisted, %s rules = %v", celpolicy.WorkloadValidate, got)
	}
}
