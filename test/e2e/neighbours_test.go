package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// A ResourceQuota that cannot hold maxReplicas pods, a
// PodDisruptionBudget that allows no eviction at minReplicas and a canary
// whose pods the target's selector matches are read by the HPA's
// validating webhook from the cluster view, and by `scaleguard check` from
// the same documents: both give the same three warnings.
func TestQuotaCeilingDrainAtMinimumSelectorOverlap(t *testing.T) {
	ns := namespace(t, nil)
	neighbours := `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec: {hard: {requests.cpu: 500m}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-canary}
spec:
  replicas: 1
  selector: {matchLabels: {app: web, track: canary}}
  template:
    metadata: {labels: {app: web, track: canary}}
    spec:
      containers:
      - {name: app, image: example.com/app:2, resources: {requests: {cpu: 100m, memory: 128Mi}}}
`
	target := workload("web", 2, bothRequests)
	autoscaler := hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80))
	mustApply(t, ns, neighbours)
	mustApply(t, ns, target)
	want := []string{
		`Warning: [quota-ceiling] spec.maxReplicas: ResourceQuota "compute" caps requests.cpu at 500m in namespace ` + ns +
			` and each pod of Deployment "web" is charged 100m, so at most 5 pods fit`,
		`Warning: [drain-at-minimum] spec.minReplicas: at minReplicas 2, PodDisruptionBudget "web" (minAvailable 2) keeps all 2 pods of Deployment "web" and allows no eviction`,
		`Warning: [selector-overlap] spec.scaleTargetRef: the selector of Deployment "web" (app=web) also matches the pods of Deployment "web-canary"`,
	}
	// The view sees the quota and the budget a moment after they are
	// stored: wait with dry runs, then create the HPA.
	eventually(t, func() error {
		_, stderr, err := apply(t, ns, autoscaler, "--dry-run=server")
		for _, w := range want {
			if err != nil || !strings.Contains(stderr, w) {
				return fmt.Errorf("dry run without %q yet: %v\n%s", w, err, stderr)
			}
		}
		return nil
	})
	_, stderr := mustApply(t, ns, autoscaler)
	mustContain(t, "kubectl's warnings", stderr, want...)

	// The same documents offline.
	var docs []manifests.Document
	for i, y := range []string{neighbours, target, autoscaler} {
		d, err := manifests.Parse(fmt.Sprintf("doc%d.yaml", i), []byte(strings.ReplaceAll(y, "metadata: {name:", "metadata: {namespace: "+ns+", name:")))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d...)
	}
	s := policies.Defaults()
	report, err := manifests.Check(docs, &s)
	if err != nil {
		t.Fatal(err)
	}
	var offline []string
	for _, r := range report.Results {
		for _, f := range r.Findings {
			if f.Rule == policies.QuotaCeiling || f.Rule == policies.DrainAtMinimum || f.Rule == policies.SelectorOverlap {
				offline = append(offline, fmt.Sprintf("Warning: [%s] %s: %s", f.Rule, f.Path, f.Message))
			}
		}
	}
	mustContain(t, "scaleguard check's findings", strings.Join(offline, "\n"), want...)
}
