package apibench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/load"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestExportedPolicyGates measures what the exported policies' gates earn
// (each rule's cheap "could find" matchCondition, exportedRule.gate):
// compliant Deployment creates with no policy, with the export, and with
// the export stripped of its gates, round by round. About a minute; run
// with `make bench-policy-gates`. It prints, and writes nothing.
func TestExportedPolicyGates(t *testing.T) {
	if os.Getenv("SCALEGUARD_BENCH_GATES") == "" {
		t.Skip("set SCALEGUARD_BENCH_GATES=1 (make bench-policy-gates)")
	}
	const perRound, concurrency, rounds = 1000, 8, 8
	bed := testbed.Start(t, testbed.Options{})
	apiserver := pidOf(t, filepath.Join(bed.BinDir, "kube-apiserver"))
	ctx := context.Background()
	d := policies.Defaults()
	export := func(gated bool) []client.Object {
		out := celpolicy.AdmissionPolicies(&d)
		for _, o := range out {
			p, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			if gated || !ok {
				continue
			}
			var keep []admissionregistrationv1.MatchCondition
			for _, c := range p.Spec.MatchConditions {
				if c.Name != celpolicy.ConditionFindings {
					keep = append(keep, c)
				}
			}
			p.Spec.MatchConditions = keep
		}
		return out
	}
	probe := namespace(t, bed.Client, "probe")
	refused := func() bool {
		err := bed.Client.Create(ctx, harness.Deployment(probe, "bad", false), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "requests-required")
	}
	configs := []string{"no policy", "exported policies", "exported policies, no gates"}
	results := map[string][]run{}
	for round := range rounds {
		for i := range configs {
			name := configs[i]
			if round%2 == 1 {
				name = configs[len(configs)-1-i]
			}
			var installed []client.Object
			if name != "no policy" {
				installed = export(name == "exported policies")
				for _, o := range installed {
					if err := bed.Client.Create(ctx, o); err != nil {
						t.Fatal(err)
					}
				}
				eventually(t, "the policies refuse", refused)
			}
			ns := namespace(t, bed.Client, fmt.Sprintf("g%d-%d", round, i))
			before, err := load.CPUTime(apiserver)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := creates(bed.Client, name, ns, perRound, concurrency, func(ns string, i int) client.Object {
				return harness.Deployment(ns, fmt.Sprintf("o%05d", i), true)
			})
			after, _ := load.CPUTime(apiserver)
			if r.failures > 0 {
				t.Fatalf("%s: %d compliant creates failed", name, r.failures)
			}
			r.round, r.cpu = round, map[string]time.Duration{"kube-apiserver": (after - before) / perRound}
			results[name] = append(results[name], r)
			for j := len(installed) - 1; j >= 0; j-- {
				_ = bed.Client.Delete(ctx, installed[j])
			}
			eventually(t, "nothing refuses", func() bool { return !refused() })
		}
	}
	for _, name := range configs {
		ratio, added := againstBase(results[name], results["no policy"])
		m := mean(results[name])
		t.Logf("%s: %.0f creates/s, %.2f of the no-policy rate (%.2f–%.2f), %+.2f ms to the median, kube-apiserver %d µs CPU per create",
			name, m.rate, ratio.mid, ratio.lo, ratio.hi, added.mid, m.cpu["kube-apiserver"].Microseconds())
	}
}
