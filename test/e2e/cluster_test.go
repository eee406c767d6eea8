package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
)

// The tests below need scaleguard's cluster view: it watches the test bed
// through informers, so an object created a moment ago may not be in its
// cache yet. Each waits for the verdict with a server-side dry run, which
// stores nothing, before making the real request.

// workload is a Deployment manifest: one container "app" with the given
// resources block (YAML flow style, "" for none).
func workload(name string, replicas int, resources string, annotations ...string) string {
	meta := "{name: " + name
	if len(annotations) > 0 {
		meta += ", annotations: {" + strings.Join(annotations, ", ") + "}"
	}
	meta += "}"
	if resources == "" {
		resources = "{}"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: %s
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers:
      - {name: app, image: example.com/app:1, resources: %s}
`, meta, replicas, name, name, resources)
}

// exemptFromRequests lets a workload without some request be stored, so
// that the rules judging it from the HPA's side can be seen alone.
var exemptFromRequests = []string{
	`scaleguard.io/exempt: requests-required`, `scaleguard.io/exempt-reason: "e2e: the HPA-side rules under test"`}

const bothRequests = `{requests: {cpu: 100m, memory: 128Mi}}`

// hpa is an autoscaling/v2 HPA manifest scaling Deployment target on the
// given metrics (YAML list items, each on its own line).
func hpa(name, targetKind, target string, metrics ...string) string {
	apiVersion := "apps/v1"
	if i := strings.LastIndex(targetKind, "/"); i >= 0 {
		apiVersion, targetKind = targetKind[:i], targetKind[i+1:]
	}
	m := ""
	if len(metrics) > 0 {
		m = "  metrics:\n  - " + strings.Join(metrics, "\n  - ") + "\n"
	}
	return fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: %s}
spec:
  scaleTargetRef: {apiVersion: %s, kind: %s, name: %s}
  minReplicas: 2
  maxReplicas: 10
%s`, name, apiVersion, targetKind, target, m)
}

func utilization(resource string, percent int) string {
	return fmt.Sprintf("{type: Resource, resource: {name: %s, target: {type: Utilization, averageUtilization: %d}}}", resource, percent)
}

func apply(t *testing.T, ns, manifest string, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	return kubectl(t, manifest, append([]string{"apply", "-n", ns, "-f", "-"}, extra...)...)
}

func mustApply(t *testing.T, ns, manifest string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := apply(t, ns, manifest)
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, stderr)
	}
	return stdout, stderr
}

// refusedOnceSeen waits until a dry run of manifest is refused with want
// (scaleguard's cache has seen what makes it so), then applies it for real
// and returns the refusal.
func refusedOnceSeen(t *testing.T, ns, manifest, want string) string {
	t.Helper()
	eventually(t, func() error {
		_, stderr, err := apply(t, ns, manifest, "--dry-run=server")
		if err == nil || !strings.Contains(stderr, want) {
			return fmt.Errorf("dry run not refused with %q yet: %v\n%s", want, err, stderr)
		}
		return nil
	})
	_, stderr, err := apply(t, ns, manifest)
	if err == nil {
		t.Fatalf("stored although a dry run was refused with %q", want)
	}
	return stderr
}

func TestTargetExistsWarns(t *testing.T) {
	ns := namespace(t, nil)
	_, stderr := mustApply(t, ns, hpa("ghost", "Deployment", "ghost", utilization("cpu", 70), utilization("memory", 80)))
	mustContain(t, "kubectl's warnings", stderr,
		`Warning: [target-exists] spec.scaleTargetRef.name: Deployment "ghost" does not exist in namespace `+ns)
}

func TestMetricsAvailableWarns(t *testing.T) {
	// The test bed runs no metrics-server: metrics.k8s.io is not served.
	ns := namespace(t, nil)
	_, stderr := mustApply(t, ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	mustContain(t, "kubectl's warnings", stderr,
		"Warning: [metrics-available] spec.metrics: Resource metrics need metrics-server (metrics.k8s.io), which this cluster does not serve")
}

func TestDuplicateHPARefused(t *testing.T) {
	ns := namespace(t, nil)
	mustApply(t, ns, workload("web", 2, bothRequests))
	mustApply(t, ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	stderr := refusedOnceSeen(t, ns, hpa("web-memory", "Deployment", "web", utilization("memory", 70)),
		`[duplicate-hpa] spec.scaleTargetRef: HPA "web" already scales Deployment "web"`)
	mustContain(t, "the refusal", stderr, `"hpa.validate.scaleguard.io" denied the request`)
}

func TestTargetRequestsRefusesTheHPA(t *testing.T) {
	ns := namespace(t, nil)
	mustApply(t, ns, workload("api", 2, `{requests: {cpu: 100m}}`, exemptFromRequests...))
	refusedOnceSeen(t, ns, hpa("api", "Deployment", "api", utilization("cpu", 70), utilization("memory", 80)),
		`[target-requests] spec.metrics[1]: HPA "api" measures memory utilization, but container "app" of Deployment "api" requests no memory`)
}

func TestTargetRequestsRefusesTheWorkloadUpdate(t *testing.T) {
	ns := namespace(t, nil)
	mustApply(t, ns, workload("web", 2, bothRequests))
	mustApply(t, ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	// Exempt from requests-required, so that only the HPA's need refuses it.
	stderr := refusedOnceSeen(t, ns, workload("web", 2, `{requests: {cpu: 100m}}`, exemptFromRequests...),
		`[target-requests] spec.template.spec.containers[0].resources.requests: HPA "web" measures memory utilization, but container "app" of Deployment "web" requests no memory`)
	mustContain(t, "the refusal", stderr, `"workload.validate.scaleguard.io" denied the request`)
}

func TestUtilizationReachable(t *testing.T) {
	ns := namespace(t, nil)
	capped := `{requests: {cpu: 500m, memory: 256Mi}, limits: {cpu: 500m, memory: 256Mi}}`
	mustApply(t, ns, workload("capped", 2, capped))
	refusedOnceSeen(t, ns, hpa("capped", "Deployment", "capped", utilization("cpu", 95), utilization("memory", 80)),
		`[utilization-reachable] spec.metrics[0]: a cpu target of 95% scales up only above 104.5% of requests`)
}

func TestScaleTargetKind(t *testing.T) {
	ns := namespace(t, nil)
	_, stderr, err := apply(t, ns, hpa("agent", "apps/v1/DaemonSet", "agent", utilization("cpu", 70), utilization("memory", 80)))
	if err == nil {
		t.Fatal("an HPA on a DaemonSet was stored")
	}
	mustContain(t, "the refusal", stderr, "[scale-target-kind] spec.scaleTargetRef.kind: apps/v1 DaemonSet has no /scale subresource")
}

// crds are two custom kinds of one group: Rollout declares a scale
// subresource, Batch does not. Discovery tells them apart.
const crds = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: rollouts.e2e.scaleguard.io}
spec:
  group: e2e.scaleguard.io
  names: {kind: Rollout, plural: rollouts, singular: rollout, listKind: RolloutList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    subresources:
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: batches.e2e.scaleguard.io}
spec:
  group: e2e.scaleguard.io
  names: {kind: Batch, plural: batches, singular: batch, listKind: BatchList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

func TestScaleTargetKindOfCustomResources(t *testing.T) {
	if _, stderr, err := kubectl(t, crds, "apply", "-f", "-"); err != nil {
		t.Fatalf("installing the CRDs: %v\n%s", err, stderr)
	}
	t.Cleanup(func() { _, _, _ = kubectl(t, crds, "delete", "-f", "-", "--wait=false") })
	if _, stderr, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=30s",
		"crd/rollouts.e2e.scaleguard.io", "crd/batches.e2e.scaleguard.io"); err != nil {
		t.Fatalf("CRDs not established: %v\n%s", err, stderr)
	}
	ns := namespace(t, nil)
	refusedOnceSeen(t, ns, hpa("batch", "e2e.scaleguard.io/v1/Batch", "nightly", utilization("cpu", 70), utilization("memory", 80)),
		"[scale-target-kind] spec.scaleTargetRef.kind: e2e.scaleguard.io/v1 Batch has no /scale subresource")
	_, stderr := mustApply(t, ns, hpa("rollout", "e2e.scaleguard.io/v1/Rollout", "checkout", utilization("cpu", 70), utilization("memory", 80)))
	if strings.Contains(stderr, "scale-target-kind") {
		t.Errorf("a custom kind with a scale subresource was judged unscalable:\n%s", stderr)
	}
}

func TestHPAReplicasConflict(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	mustApply(t, ns, workload("web", 3, bothRequests))
	mustApply(t, ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	replicas := func() int32 {
		t.Helper()
		var d appsv1.Deployment
		if err := env.bed.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	// warn (the default): the update goes through, with the reason it
	// should not have been made. /scale, which the HPA controller and
	// kubectl scale use, never reaches scaleguard: it is an update of the
	// workload's manifest that conflicts.
	want := "Warning: [hpa-replicas-conflict] spec.replicas: spec.replicas changed from 3 to 5 while HPA \"web\" manages it"
	eventually(t, func() error {
		_, stderr, err := apply(t, ns, workload("web", 5, bothRequests), "--dry-run=server")
		if err != nil || !strings.Contains(stderr, want) {
			return fmt.Errorf("no conflict warning yet: %v\n%s", err, stderr)
		}
		return nil
	})
	_, stderr := mustApply(t, ns, workload("web", 5, bothRequests))
	mustContain(t, "kubectl's warnings", stderr, want)
	if n := replicas(); n != 5 {
		t.Errorf("replicas = %d, want 5: warn changes nothing", n)
	}

	// mutate: the workload mutating webhook keeps the count.
	patch := []string{"patch", "-n", ns, "deployment/web", "--type=merge", "-p", `{"spec":{"replicas":9}}`}
	setSettings(t, "rules:\n  hpa-replicas-conflict:\n    action: mutate\n", func() error {
		_, stderr, err := kubectl(t, "", append(patch, "--dry-run=server")...)
		if err != nil || !strings.Contains(stderr, "spec.replicas changed from 5 to 9") {
			return fmt.Errorf("the standard settings are not back yet: %v\n%s", err, stderr)
		}
		return nil
	})
	kept := "Warning: [hpa-replicas-conflict] spec.replicas: kept spec.replicas at 5, the count HPA \"web\" manages (the update asked for 9)"
	eventually(t, func() error {
		_, stderr, err := kubectl(t, "", append(patch, "--dry-run=server")...)
		if err != nil || !strings.Contains(stderr, kept) {
			return fmt.Errorf("settings not reloaded yet: %v\n%s", err, stderr)
		}
		return nil
	})
	if _, stderr, err := kubectl(t, "", patch...); err != nil || !strings.Contains(stderr, kept) {
		t.Fatalf("kubectl patch: %v\n%s", err, stderr)
	}
	if n := replicas(); n != 5 {
		t.Errorf("replicas = %d after the mutating webhook, want 5", n)
	}
}

// setSettings replaces the settings file of the shared scaleguard, and
// restores the built-in standard when the test ends, waiting until
// restored says it is in force again. The caller waits for the new
// settings through the verdicts it expects.
func setSettings(t *testing.T, content string, restored func() error) {
	t.Helper()
	if err := os.WriteFile(env.sg.SettingsPath(), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// `{}`: an empty file reads as an edit in progress and is ignored.
		if err := os.WriteFile(env.sg.SettingsPath(), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		eventually(t, restored)
	})
}

func TestExternallyManagedHPAStoredUnmutated(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	manifest := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: keda-hpa-orders
  ownerReferences:
  - {apiVersion: keda.sh/v1alpha1, kind: ScaledObject, name: orders, uid: 5b0e4c1e-0f6a-4c55-9a57-1d4f0c0e0001, controller: true}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: orders}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
`
	_, stderr := mustApply(t, ns, manifest)
	mustContain(t, "kubectl's warnings", stderr,
		`Warning: [min-replicas] spec.minReplicas:`, `(not mutated: keda.sh ScaledObject "orders" owns this HPA and would revert it; set spec.minReplicaCount there)`,
		`Warning: [memory-target]`, `set spec.triggers there)`,
		`Warning: [behavior-defaults]`, `set spec.advanced.horizontalPodAutoscalerConfig.behavior there)`)
	var got autoscalingv2.HorizontalPodAutoscaler
	if err := env.bed.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keda-hpa-orders"}, &got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.MinReplicas != 1 || len(got.Spec.Metrics) != 1 || got.Spec.Behavior != nil {
		t.Errorf("the KEDA-owned HPA was mutated: minReplicas %d, %d metrics, behavior %v",
			*got.Spec.MinReplicas, len(got.Spec.Metrics), got.Spec.Behavior)
	}
}

func TestRequestsRequiredHonoursLimitRange(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	if err := env.bed.Client.Create(ctx, harness.Deployment(ns, "batch", false), client.DryRunAll); err == nil {
		t.Fatal("a Deployment without requests was admitted before the LimitRange existed")
	}
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		}}},
	}
	if err := env.bed.Client.Create(ctx, lr); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		return env.bed.Client.Create(ctx, harness.Deployment(ns, "batch", false), client.DryRunAll)
	})
	if err := env.bed.Client.Create(ctx, harness.Deployment(ns, "batch", false)); err != nil {
		t.Fatalf("a Deployment whose requests the namespace's LimitRange fills was refused: %v", err)
	}
}
