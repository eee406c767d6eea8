package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

// TestExemptNamespacesNeverReviewedNorAudited: a namespace labelled to opt
// out and one listed in the settings' exemptNamespaces are the same thing to
// every part of scaleguard. A Deployment without requests created in either
// is admitted without a review (the API server's namespaceSelector and
// matchConditions, written by scaleguard from its settings, keep it away),
// and the audit does not report it; a violator in a namespace that is not
// exempt is reported by the same scan.
func TestExemptNamespacesNeverReviewedNorAudited(t *testing.T) {
	ctx := context.Background()
	waitConditionsInSync(t)
	optedOut := namespace(t, map[string]string{policies.DefaultOptOutLabel: "true"})
	listed := namespace(t, nil)
	// The control: a violator stored while its namespace was opted out,
	// which the audit must report once the label is gone.
	judged := namespace(t, map[string]string{policies.DefaultOptOutLabel: "true"})
	if err := env.bed.Client.Create(ctx, harness.Deployment(judged, "old", false)); err != nil {
		t.Fatalf("opted-out namespace judged: %v", err)
	}
	var ns corev1.Namespace
	if err := env.bed.Client.Get(ctx, client.ObjectKey{Name: judged}, &ns); err != nil {
		t.Fatal(err)
	}
	delete(ns.Labels, policies.DefaultOptOutLabel)
	if err := env.bed.Client.Update(ctx, &ns); err != nil {
		t.Fatal(err)
	}

	selectorNames := func() []string {
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		if err := env.bed.Client.Get(ctx, client.ObjectKey{Name: env.webhooks.Validating.Name}, &v); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, w := range v.Webhooks {
			for _, e := range w.NamespaceSelector.MatchExpressions {
				if e.Key == "kubernetes.io/metadata.name" {
					names = append(names, e.Values...)
				}
			}
		}
		return names
	}
	setSettings(t, fmt.Sprintf("exemptNamespaces: [kube-system, %s]\naudit: {intervalSeconds: 10}\n", listed), func() error {
		if slices.Contains(selectorNames(), listed) {
			return fmt.Errorf("the namespaceSelectors still leave out %s", listed)
		}
		return nil
	})
	// scaleguard writes the new list into the installed configurations'
	// selectors and conditions; the API server then stops calling it for
	// the listed namespace.
	eventually(t, func() error {
		if !slices.Contains(selectorNames(), listed) {
			return fmt.Errorf("the namespaceSelectors do not leave out %s yet", listed)
		}
		return nil
	})
	reviews := func() float64 { return metricSum(t, "scaleguard_admission_reviews_total", `handler="workload-`) }
	eventually(t, func() error {
		before := reviews()
		err := env.bed.Client.Create(ctx, harness.Deployment(listed, "probe", false), client.DryRunAll)
		if err != nil || reviews() != before {
			return fmt.Errorf("%s still reaches scaleguard: %v", listed, err)
		}
		return nil
	})

	before := reviews()
	for _, ns := range []string{optedOut, listed} {
		if err := env.bed.Client.Create(ctx, harness.Deployment(ns, "bare", false)); err != nil {
			t.Errorf("a Deployment without requests in exempt namespace %s was refused: %v", ns, err)
		}
	}
	if got := reviews(); got != before {
		t.Errorf("scaleguard reviewed %v writes in exempt namespaces", got-before)
	}

	// The next scan starts after every object above was stored.
	start := float64(time.Now().Unix())
	if err := env.sg.WaitMetric(ctx, "scaleguard_audit_last_scan_timestamp_seconds", time.Minute, func(v float64) bool { return v > start }); err != nil {
		t.Fatal(err)
	}
	violations := func(ns string) float64 {
		return metricSum(t, "scaleguard_audit_violations", `namespace="`+ns+`"`)
	}
	if n := violations(judged); n == 0 {
		t.Errorf("the audit reports nothing in %s, which holds a Deployment without requests", judged)
	}
	for _, ns := range []string{optedOut, listed} {
		if n := violations(ns); n != 0 {
			t.Errorf("the audit reports %v violations in exempt namespace %s", n, ns)
		}
	}
}
