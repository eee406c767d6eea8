package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// installScaledObjectCRD installs KEDA's ScaledObject CRD pinned in
// hack/crds/go.mod, after scaleguard has started: its cluster view must
// notice it without a restart. No KEDA operator runs: nothing builds the
// HPAs, which is what lets the rules be seen alone.
func installScaledObjectCRD(t *testing.T) {
	t.Helper()
	path, err := testbed.CRDFile("keda.sh_scaledobjects.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := kubectl(t, string(crd), "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("installing the ScaledObject CRD: %v\n%s", err, stderr)
	}
	if _, stderr, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=30s",
		"crd/scaledobjects.keda.sh"); err != nil {
		t.Fatalf("ScaledObject CRD not established: %v\n%s", err, stderr)
	}
}

// soStandardBehavior is the standard's behavior as a ScaledObject gives it
// to the HPA KEDA builds.
const soStandardBehavior = `  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 30}, {type: Pods, value: 2, periodSeconds: 30}]}
        scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 50, periodSeconds: 60}]}
`

// soCPUTrigger scales on 70 % cpu utilization.
const soCPUTrigger = "  triggers:\n  - {type: cpu, metricType: Utilization, metadata: {value: '70'}}\n"

// scaledObjectYAML is a ScaledObject in ns of Deployment target; spec holds
// more lines of its spec (two spaces in).
func scaledObjectYAML(ns, name, target, spec string) string {
	return fmt.Sprintf(`apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: %s, namespace: %s}
spec:
  scaleTargetRef: {name: %s}
  maxReplicaCount: 10
%s`, name, ns, target, spec)
}

// inNamespace puts the manifests' first metadata in ns, for check.
func inNamespace(ns, manifest string) string {
	return strings.Replace(manifest, "metadata: {name:", "metadata: {namespace: "+ns+", name:", 1)
}

// offlineVerdictOf runs `scaleguard check`'s rules over docs and returns
// the findings of the document kind/name in the webhook's words.
func offlineVerdictOf(t *testing.T, kind, name string, docs ...string) []string {
	t.Helper()
	parsed, err := manifests.Parse("keda.yaml", []byte(strings.Join(docs, "---\n")))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	report, err := manifests.Check(parsed, &s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, res := range report.Results {
		if res.Doc.Kind != kind || res.Doc.Name != name {
			continue
		}
		for _, f := range res.Findings {
			action := "warn"
			if f.Action == policies.Deny {
				action = "deny"
			}
			out = append(out, action+" "+f.String())
		}
	}
	return out
}

// TestScaledObjects: the standard where KEDA builds its HPA from, through
// the real API server with KEDA's CRD installed, and the same documents
// through `scaleguard check`, which must give the same verdict.
func TestScaledObjects(t *testing.T) {
	installScaledObjectCRD(t)
	ns := namespace(t, nil)
	cluster := []string{
		inNamespace(ns, workload("web", 2, bothRequests)),
		inNamespace(ns, workload("lean", 2, `{requests: {memory: 128Mi}}`, exemptFromRequests...)),
		inNamespace(ns, workload("api", 2, bothRequests)),
		inNamespace(ns, hpa("api", "Deployment", "api", utilization("cpu", 70), utilization("memory", 80))),
	}
	for _, m := range cluster {
		mustApply(t, ns, m)
	}
	compliant := scaledObjectYAML(ns, "web", "web", "  minReplicaCount: 2\n"+soStandardBehavior+soCPUTrigger)
	for name, tc := range map[string]struct {
		manifest string
		want     []string
	}{
		"compliant": {manifest: compliant},
		"minReplicaCount 1": {manifest: scaledObjectYAML(ns, "web-min", "web", "  minReplicaCount: 1\n"+soStandardBehavior+soCPUTrigger),
			want: []string{"warn [min-replicas] spec.minReplicaCount: minReplicaCount is 1 and a cpu or memory trigger scales this workload; set spec.minReplicaCount: 2 so one pod lost is not an outage (scaleguard does not mutate ScaledObjects)"}},
		"scale-down disabled": {manifest: scaledObjectYAML(ns, "web-stuck", "web", "  minReplicaCount: 2\n"+
			strings.Replace(soStandardBehavior, "scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max", "scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Disabled", 1)+soCPUTrigger),
			want: []string{"deny [behavior-consistency] spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy: the HPA KEDA builds from this ScaledObject can never scale down: scale-down is Disabled: stays at 10 replicas; set selectPolicy: Max or Min"}},
		"target lacks the cpu request": {manifest: scaledObjectYAML(ns, "lean", "lean", "  minReplicaCount: 2\n"+soStandardBehavior+soCPUTrigger),
			want: []string{`deny [target-requests] spec.triggers[0]: ScaledObject "lean" measures cpu utilization, but container "app" of Deployment "lean" requests no cpu, so the metric fails and the HPA never scales; add resources.requests.cpu`}},
		"target has an HPA": {manifest: scaledObjectYAML(ns, "api", "api", "  minReplicaCount: 2\n"+soStandardBehavior+soCPUTrigger),
			want: []string{`deny [duplicate-hpa] spec.scaleTargetRef: HPA "api" already scales Deployment "api", and KEDA would build a second HPA (keda-hpa-api) beside it; two autoscalers on one target fight over its replicas — delete the HPA, or let KEDA adopt it: annotate scaledobject.keda.sh/transfer-hpa-ownership: "true" and set spec.advanced.horizontalPodAutoscalerConfig.name: api`}},
	} {
		t.Run(name, func(t *testing.T) {
			offline := offlineVerdictOf(t, policies.KindScaledObject, nameOf(tc.manifest), append(slices.Clone(cluster), tc.manifest)...)
			if strings.Join(offline, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("scaleguard check says\n%s\nwant\n%s", strings.Join(offline, "\n"), strings.Join(tc.want, "\n"))
			}
			// The view sees the workloads, the HPA and the CRD a moment
			// after they are stored: wait with dry runs for the verdict.
			eventually(t, func() error {
				_, stderr, err := apply(t, ns, tc.manifest, "--dry-run=server")
				got, other := webhookVerdict(stderr, err)
				if other != "" || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					return fmt.Errorf("the webhook says\n%s\n%s\nwant\n%s", strings.Join(got, "\n"), other, strings.Join(tc.want, "\n"))
				}
				return nil
			})
		})
	}

	// From the other side: once the compliant ScaledObject is stored, an
	// HPA on its target is refused, by the webhook and by check alike.
	if _, stderr := mustApply(t, ns, compliant); strings.Contains(stderr, "scaleguard") || strings.Contains(stderr, "Warning") {
		t.Errorf("the compliant ScaledObject was admitted with something to say:\n%s", stderr)
	}
	onWeb := inNamespace(ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	want := `[duplicate-hpa] spec.scaleTargetRef: ScaledObject "web" already scales Deployment "web" (KEDA builds HPA "keda-hpa-web" from it); two autoscalers on one target fight over its replicas — add this HPA's metrics to the ScaledObject as triggers`
	refused := refusedOnceSeen(t, ns, onWeb, want)
	got, _ := webhookVerdict(refused, fmt.Errorf("refused"))
	offline := offlineVerdictOf(t, policies.KindHPA, "web", append(slices.Clone(cluster), compliant, onWeb)...)
	// Files say nothing of the metrics APIs, which the test bed does not
	// serve: metrics-available is left out of the comparison.
	served := func(f string) bool { return strings.Contains(f, "["+policies.MetricsAvailable+"]") }
	got, offline = slices.DeleteFunc(got, served), slices.DeleteFunc(offline, served)
	if strings.Join(got, "\n") != strings.Join(offline, "\n") {
		t.Errorf("the webhook says\n%s\nscaleguard check says\n%s", strings.Join(got, "\n"), strings.Join(offline, "\n"))
	}
}

// nameOf is the name in a manifest's first metadata.
func nameOf(manifest string) string {
	_, rest, _ := strings.Cut(manifest, "metadata: {name: ")
	name, _, _ := strings.Cut(rest, ",")
	return name
}
