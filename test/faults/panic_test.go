package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// panicking is the Deployment the fault-injecting build panics on (its
// SCALEGUARD_FAULT_PANIC_NAME, see webhook/fault_inject.go).
const panicking = "panics"

// TestPanicMeetsTheFailurePolicy: a handler that panics answers HTTP 500,
// so the API server applies the webhook's failurePolicy instead of
// scaleguard refusing on its own. scaleguard is built with the
// scaleguard_faultinject tag (never set in a release build) and told to
// panic on one Deployment's name; a Deployment without requests of that
// name is sent to the validating webhook through the real API server.
// Under Fail it is refused with the API server's "failed calling webhook";
// under Ignore it is stored. Either way scaleguard counts the panic, and a
// Deployment of another name is still denied by scaleguard itself.
func TestPanicMeetsTheFailurePolicy(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	bin, err := harness.BuildCommand(ctx, env.root, t.TempDir(), "./cmd/scaleguard", "scaleguard_faultinject")
	if err != nil {
		t.Fatal(err)
	}
	sg, webhooks := harness.StartStandard(t, bin, harness.Options{Env: []string{"SCALEGUARD_FAULT_PANIC_NAME=" + panicking}})
	c := newCaller(t, bed.Config)
	for _, policy := range []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore} {
		t.Run(string(policy), func(t *testing.T) {
			webhooks.SetValidatingFailurePolicy(policy)
			if err := webhooks.Apply(ctx, bed.Client); err != nil {
				t.Fatal(err)
			}
			ns := "panic-" + strings.ToLower(string(policy))
			if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				t.Fatal(err)
			}
			waitForPolicy(t, sg, c, ns, policy)
			before, err := sg.MetricSum(ctx, "scaleguard_admission_reviews_total", `handler="workload-validate"`, `result="panic"`)
			if err != nil {
				t.Fatal(err)
			}

			start := time.Now()
			_, created := c.create(ctx, harness.Deployment(ns, panicking, false))
			took := time.Since(start)
			switch policy {
			case admissionregistrationv1.Fail:
				if created == nil || !strings.Contains(created.Error(), unreachable) {
					t.Fatalf("under Fail, want the API server's %q, got %v", unreachable, created)
				}
				if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: panicking}, harness.Deployment(ns, panicking, false)); err == nil {
					t.Error("under Fail, the Deployment was stored")
				}
			case admissionregistrationv1.Ignore:
				if created != nil {
					t.Fatalf("under Ignore, want the write admitted, got %v", created)
				}
			}
			after, err := sg.MetricSum(ctx, "scaleguard_admission_reviews_total", `handler="workload-validate"`, `result="panic"`)
			if err != nil {
				t.Fatal(err)
			}
			if after <= before {
				t.Errorf("scaleguard_admission_reviews_total{handler=workload-validate,result=panic} went from %v to %v", before, after)
			}
			t.Logf("failurePolicy %s: answered after %s (error: %v); %v panic(s) counted", policy, took.Round(time.Millisecond), created, after-before)

			// Only the named object panics: scaleguard still judges the rest.
			if _, err := c.create(ctx, harness.Deployment(ns, "judged", false)); err == nil || !strings.Contains(err.Error(), denied) {
				t.Errorf("another violating Deployment: want scaleguard's denial, got %v", err)
			}
		})
	}
}
