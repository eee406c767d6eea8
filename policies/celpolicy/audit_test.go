package celpolicy

import (
	"fmt"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apiserver/pkg/admission"

	"github.com/scaleguard/scaleguard/audit"
	"github.com/scaleguard/scaleguard/policies"
)

// TestWhatSkippedWritesLoseTheAuditReports: a write the conditions keep
// from the webhook loses whatever the webhook would have said about it
// (docs/rules.md, "Reaches the webhook"). The audit judges every stored
// object with every rule; here every finding such a skipped write would
// have got is checked to be among the audit's findings on the stored
// object, judged against the same cluster.
func TestWhatSkippedWritesLoseTheAuditReports(t *testing.T) {
	s := policies.Defaults()
	validateHPA, validateWorkload := matcher(t, HPAValidate, &s), matcher(t, WorkloadValidate, &s)
	workloads, hpas := corpus(t)
	// What an update adds to a denial the stored object already had is the
	// update's own; the finding is the same.
	key := func(f policies.Finding) string {
		return fmt.Sprintf("%s %s %s", f.Rule, f.Path, strings.TrimSuffix(f.Message, " (already so before this update; allowed by allowExistingViolations)"))
	}
	audited := func(objs audit.Objects) map[string]bool {
		out := map[string]bool{}
		for _, f := range audit.Scan(objs, nil, &s).Findings {
			out[key(f.Finding)] = true
		}
		return out
	}
	lost := 0
	// An HPA's labels change: not sent.
	for _, h := range hpas {
		stored := policies.EvaluateHPA(policies.HPAReview{Object: h}, &s).Object
		labelled := stored.DeepCopy()
		labelled.Labels = map[string]string{"team": "a"}
		if (call{op: admission.Update, obj: labelled, old: stored}).matches(t, validateHPA) {
			t.Errorf("HPA %s/%s: a label update is sent", h.Namespace, h.Name)
			continue
		}
		objs := audit.Objects{HPAs: []autoscalingv2.HorizontalPodAutoscaler{*labelled}}
		would := policies.EvaluateHPA(policies.HPAReview{Object: labelled, Old: stored, Final: true, Cluster: audit.Snapshot(objs)}, &s).Findings
		got := audited(objs)
		for _, f := range would {
			lost++
			if !got[key(f)] {
				t.Errorf("HPA %s/%s: the skipped update would have said %q; the audit does not", h.Namespace, h.Name, key(f))
			}
		}
	}
	// A workload created after the HPA that scales it, or updated without a
	// change the conditions look at: whatever is skipped, the audit judges
	// the pair.
	for _, obj := range workloads {
		w, _ := policies.WorkloadOf(obj)
		scaler := scalingHPA(w)
		stored, _ := audit.WorkloadOf(obj)
		objs := audit.Objects{Workloads: []audit.Workload{stored}, HPAs: []autoscalingv2.HorizontalPodAutoscaler{*scaler}}
		cluster := audit.Snapshot(objs)
		for _, c := range []call{{op: admission.Create, obj: obj}, {op: admission.Update, obj: obj, old: obj}} {
			if c.matches(t, validateWorkload) {
				continue
			}
			r := policies.WorkloadReview{Object: w, Cluster: cluster, Final: true}
			if c.old != nil {
				r.Old = &w
			}
			got := audited(objs)
			for _, f := range policies.EvaluateWorkload(r, &s) {
				lost++
				if !got[key(f)] {
					t.Errorf("%s %s/%s: the skipped %s would have said %q; the audit does not", w.Kind, w.Meta.Namespace, w.Meta.Name, c.op, key(f))
				}
			}
		}
	}
	t.Logf("%d findings of skipped writes, each reported by the audit", lost)
}
