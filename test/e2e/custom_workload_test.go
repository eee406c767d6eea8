package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// Settings of TestCustomWorkloadKind: metrics-available is off because the
// test bed serves no metrics API, which the files `scaleguard check` reads
// cannot know; rolloutSettings also lists Argo Rollouts' Rollout as a
// custom workload kind.
const (
	noMetricsSettings = "rules: {metrics-available: {action: \"off\"}}\n"
	rolloutSettings   = noMetricsSettings + "audit: {intervalSeconds: 10}\nworkloadKinds: [{apiGroup: argoproj.io, version: v1alpha1, kind: Rollout, resource: rollouts}]\n"
)

// TestCustomWorkloadKind: through the real API server, with a Rollout CRD
// that has a scale subresource installed, a Rollout whose container lacks
// the memory request and an HPA scaling it are admitted without a word
// while Rollout is not listed in settings.workloadKinds; once listed, a
// Rollout without it is refused by requests-required, and the HPA by
// target-requests, read from the Rollout stored before, and the audit
// reports the stored Rollout. `scaleguard check` over the same documents,
// with the same settings, gives the same verdicts.
func TestCustomWorkloadKind(t *testing.T) {
	ctx := context.Background()
	waitConditionsInSync(t)
	crd, err := os.ReadFile(filepath.Join(env.root, "test/e2e/testdata/rollouts-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, "default", string(crd))
	eventually(t, func() error {
		_, stderr, err := kubectl(t, "", "get", "rollouts.argoproj.io", "-A")
		if err != nil {
			return fmt.Errorf("rollouts not served yet: %s", stderr)
		}
		return nil
	})

	ns := namespace(t, nil)
	fixture, err := os.ReadFile(filepath.Join(env.root, "manifests/testdata/custom/rollout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.ReplaceAll(string(fixture), "namespace: shop", "namespace: "+ns)
	rollout, hpa, _ := strings.Cut(docs, "\n---\n")

	// verdicts are the webhook's findings on the Rollout (created as
	// "web-2", so that the stored "web" stays the HPA's target) and on the
	// HPA, both written with --dry-run=server.
	verdicts := func() (onRollout, onHPA []string) {
		t.Helper()
		second := strings.Replace(rollout, "name: web,", "name: web-2,", 1)
		_, stderr, err := apply(t, ns, second, "--dry-run=server")
		onRollout, other := webhookVerdict(stderr, err)
		if other != "" {
			t.Fatalf("the Rollout was refused, but not by scaleguard: %s", other)
		}
		_, stderr, err = apply(t, ns, hpa, "--dry-run=server")
		onHPA, other = webhookVerdict(stderr, err)
		if other != "" {
			t.Fatalf("the HPA was refused, but not by scaleguard: %s", other)
		}
		return onRollout, onHPA
	}

	unlisted, err := policies.ParseSettings([]byte(noMetricsSettings))
	if err != nil {
		t.Fatal(err)
	}
	setSettings(t, noMetricsSettings, func() error { return nil })
	eventually(t, func() error {
		if _, onHPA := verdicts(); len(onHPA) > 0 {
			return fmt.Errorf("metrics-available is not off yet: %q", onHPA)
		}
		return nil
	})

	// Not listed: stored and admitted silently.
	if _, stderr := mustApply(t, ns, rollout); strings.Contains(stderr, "[") {
		t.Errorf("an unlisted Rollout got findings: %s", stderr)
	}
	onRollout, onHPA := verdicts()
	if len(onRollout) > 0 || len(onHPA) > 0 {
		t.Errorf("with Rollout not listed, want no findings; the Rollout got %q, the HPA %q", onRollout, onHPA)
	}
	compareOffline(t, docs, unlisted, onRollout, onHPA)

	workloadResources := func() []string {
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		if err := env.bed.Client.Get(ctx, client.ObjectKey{Name: env.webhooks.Validating.Name}, &v); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range v.Webhooks {
			if w.Name == "workload.validate.scaleguard.io" {
				for _, r := range w.Rules {
					out = append(out, r.Resources...)
				}
			}
		}
		return out
	}
	setSettings(t, rolloutSettings, func() error {
		if slices.Contains(workloadResources(), "rollouts") {
			return fmt.Errorf("the workload webhook still receives rollouts")
		}
		return nil
	})
	listed, err := policies.ParseSettings([]byte(rolloutSettings))
	if err != nil {
		t.Fatal(err)
	}
	// scaleguard adds the kind to its workload webhooks' rules, and starts
	// watching Rollouts.
	eventually(t, func() error {
		onRollout, onHPA = verdicts()
		if !slices.ContainsFunc(onRollout, func(f string) bool { return strings.HasPrefix(f, "deny [requests-required]") }) {
			return fmt.Errorf("the Rollout is not refused by requests-required yet: %q (workload webhook resources %q)", onRollout, workloadResources())
		}
		if !slices.ContainsFunc(onHPA, func(f string) bool { return strings.HasPrefix(f, "deny [target-requests]") }) {
			return fmt.Errorf("the HPA is not refused by target-requests yet: %q", onHPA)
		}
		return nil
	})
	mustContain(t, "the Rollout's refusal", strings.Join(onRollout, "\n"), "memory")
	mustContain(t, "the HPA's refusal", strings.Join(onHPA, "\n"), `"app"`)
	compareOffline(t, docs, listed, onRollout, onHPA)

	// The audit judges the stored Rollout too, read through the view.
	eventually(t, func() error {
		if n := metricSum(t, "scaleguard_audit_violations", `namespace="`+ns+`"`, `kind="Rollout"`, `rule="requests-required"`); n != 1 {
			return fmt.Errorf("the audit reports %v requests-required violations of Rollouts in %s, want 1", n, ns)
		}
		return nil
	})
}

// compareOffline runs `scaleguard check`'s rules over docs (a Rollout, then
// its HPA) under s, and compares each document's findings with the
// webhook's, in its words.
func compareOffline(t *testing.T, docs string, s policies.Settings, onRollout, onHPA []string) {
	t.Helper()
	parsed, err := manifests.Parse("rollout.yaml", []byte(docs))
	if err != nil {
		t.Fatal(err)
	}
	report, err := manifests.Check(parsed, &s)
	if err != nil {
		t.Fatal(err)
	}
	for i, webhook := range [][]string{onRollout, onHPA} {
		var offline []string
		for _, f := range report.Results[i].Findings {
			action := "warn"
			if f.Action == policies.Deny {
				action = "deny"
			}
			offline = append(offline, action+" "+f.String())
		}
		if !slices.Equal(webhook, offline) {
			t.Errorf("%s: the webhook and scaleguard check disagree\nwebhook: %q\ncheck:   %q", report.Results[i].Doc.Kind, webhook, offline)
		}
	}
}
