package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

var namespaces atomic.Int32

// namespace creates a namespace for one test and deletes it afterwards.
func namespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("e2e-%d", namespaces.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := env.bed.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.bed.Client.Delete(context.Background(), ns) })
	return name
}

func kubectl(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := env.bed.KubectlStdin(ctx, stdin, args...)
	return res.Stdout, res.Stderr, err
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func TestDeploymentWithoutRequestsIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	err := env.bed.Client.Create(ctx, harness.Deployment(ns, "api", false))
	if err == nil {
		t.Fatal("a Deployment without requests was stored")
	}
	mustContain(t, "the refusal", err.Error(),
		`admission webhook "workload.validate.scaleguard.io" denied the request`,
		"spec.template.spec.containers[0].resources.requests", `container "app" requests no cpu or memory`)

	ok := harness.Deployment(ns, "api", true)
	if err := env.bed.Client.Create(ctx, ok); err != nil {
		t.Fatalf("a Deployment with requests was refused: %v", err)
	}
	if err := env.bed.Client.Get(ctx, client.ObjectKeyFromObject(ok), ok); err != nil {
		t.Fatalf("not stored: %v", err)
	}
}

const hpaV1 = `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  minReplicas: 2
  maxReplicas: 20
  targetCPUUtilizationPercentage: 60
`

const hpaV2Minimal = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
`

func TestHPAv1RefusedAndV2Standardized(t *testing.T) {
	ns := namespace(t, nil)
	_, stderr, err := kubectl(t, hpaV1, "apply", "-n", ns, "-f", "-")
	if err == nil {
		t.Fatal("kubectl apply of an autoscaling/v1 HPA succeeded")
	}
	mustContain(t, "kubectl's error", stderr, `"hpa.validate.scaleguard.io" denied the request`,
		"[hpa-api-version] apiVersion:", "write apiVersion: autoscaling/v2",
		"averageUtilization: 60")

	stdout, stderr, err := kubectl(t, hpaV2Minimal, "apply", "-n", ns, "-f", "-")
	if err != nil {
		t.Fatalf("v2 HPA refused: %v", err)
	}
	mustContain(t, "kubectl's output", stdout, "horizontalpodautoscaler.autoscaling/worker created")
	mustContain(t, "kubectl's warnings", stderr, "Warning: [min-replicas] spec.minReplicas: raised minReplicas from 1 to 2",
		"Warning: [memory-target]", "Warning: [behavior-defaults]")

	// Read back from the API server, not from kubectl's echo.
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := env.bed.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "worker"}, &hpa); err != nil {
		t.Fatal(err)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 2 {
		t.Errorf("minReplicas = %v, want 2", hpa.Spec.MinReplicas)
	}
	if len(hpa.Spec.Metrics) != 2 || hpa.Spec.Metrics[1].Resource == nil || hpa.Spec.Metrics[1].Resource.Name != corev1.ResourceMemory ||
		*hpa.Spec.Metrics[1].Resource.Target.AverageUtilization != 80 {
		t.Errorf("metrics = %+v, want cpu 60 and memory 80", hpa.Spec.Metrics)
	}
	if want := policies.StandardBehavior(); hpa.Spec.Behavior == nil || !apiequality.Semantic.DeepEqual(*hpa.Spec.Behavior, want) {
		t.Errorf("behavior = %+v, want the standard's", hpa.Spec.Behavior)
	}

	// Applying the same file again leaves the stored object as it is:
	// kubectl's three-way merge resets the atomic metrics list to the file's,
	// the mutator adds memory again, and the API server sees a no-op. The
	// warning repeats until the file itself carries the memory target.
	if _, _, err := kubectl(t, hpaV2Minimal, "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}
	var again autoscalingv2.HorizontalPodAutoscaler
	if err := env.bed.Client.Get(context.Background(), client.ObjectKeyFromObject(&hpa), &again); err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != hpa.ResourceVersion || !apiequality.Semantic.DeepEqual(again.Spec, hpa.Spec) {
		t.Errorf("re-applying the same file changed the stored HPA:\nbefore %+v\nafter  %+v", hpa.Spec, again.Spec)
	}
}

func TestDryRunServerShowsPatchAndStoresNothing(t *testing.T) {
	ns := namespace(t, nil)
	stdout, stderr, err := kubectl(t, hpaV2Minimal, "apply", "-n", ns, "--dry-run=server", "-o", "yaml", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the dry-run object", stdout, "minReplicas: 2", "name: memory", "stabilizationWindowSeconds: 300")
	mustContain(t, "the dry-run warnings", stderr, "Warning: [min-replicas]", "Warning: [behavior-defaults]")
	err = env.bed.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "worker"}, &autoscalingv2.HorizontalPodAutoscaler{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("dry run stored the HPA (get: %v)", err)
	}
}

func TestOldViolatorCanBeRestarted(t *testing.T) {
	ctx := context.Background()
	// Created while its namespace was opted out: it predates enforcement.
	ns := namespace(t, map[string]string{"scaleguard.io/ignore": "true"})
	if err := env.bed.Client.Create(ctx, harness.Deployment(ns, "legacy", false)); err != nil {
		t.Fatalf("opted-out namespace still judged: %v", err)
	}
	var nsObj corev1.Namespace
	if err := env.bed.Client.Get(ctx, client.ObjectKey{Name: ns}, &nsObj); err != nil {
		t.Fatal(err)
	}
	delete(nsObj.Labels, "scaleguard.io/ignore")
	if err := env.bed.Client.Update(ctx, &nsObj); err != nil {
		t.Fatal(err)
	}
	// A new violator in the namespace is refused again once the API server
	// has seen the label go.
	eventually(t, func() error {
		err := env.bed.Client.Create(ctx, harness.Deployment(ns, "new", false), client.DryRunAll)
		if err == nil {
			return fmt.Errorf("namespace still opted out")
		}
		return nil
	})
	_, stderr, err := kubectl(t, "", "rollout", "restart", "-n", ns, "deployment/legacy")
	if err != nil {
		t.Fatalf("rollout restart of an old violator refused: %v", err)
	}
	mustContain(t, "the restart's warning", stderr, "Warning: [requests-required]", "allowed by allowExistingViolations")
}

func TestExemptions(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	exempt := harness.Deployment(ns, "vendor", false)
	exempt.Annotations = map[string]string{
		policies.AnnotationExempt: "requests-required", policies.AnnotationExemptReason: "vendor image; OPS-1412"}
	if err := env.bed.Client.Create(ctx, exempt); err != nil {
		t.Fatalf("exempt Deployment refused: %v", err)
	}
	noReason := harness.Deployment(ns, "no-reason", false)
	noReason.Annotations = map[string]string{policies.AnnotationExempt: "requests-required"}
	err := env.bed.Client.Create(ctx, noReason)
	if err == nil {
		t.Fatal("an exemption without a reason was honoured")
	}
	mustContain(t, "the refusal", err.Error(), "[requests-required]")
	// kube-system is excluded by the webhook configuration's selector.
	if err := env.bed.Client.Create(ctx, harness.Deployment("kube-system", "system-addon", false)); err != nil {
		t.Fatalf("kube-system judged: %v", err)
	}
	t.Cleanup(func() { _ = env.bed.Client.Delete(ctx, harness.Deployment("kube-system", "system-addon", false)) })
}

// TestWebhookDown stops scaleguard: subresource writes go on, and the
// failure policy decides the rest.
func TestWebhookDown(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, nil)
	ok := harness.Deployment(ns, "web", true)
	if err := env.bed.Client.Create(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kubectl(t, strings.ReplaceAll(hpaV2Minimal, "worker", "web"), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}

	if err := env.sg.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		env.webhooks.SetValidatingFailurePolicy(admissionregistrationv1.Fail)
		if err := env.webhooks.Apply(ctx, env.bed.Client); err != nil {
			t.Errorf("restoring webhook configurations: %v", err)
		}
		if err := env.sg.Restart(ctx); err != nil {
			t.Errorf("restarting scaleguard: %v", err)
		}
	})

	// failurePolicy: Fail, as shipped. /scale and /status never pass through.
	if _, _, err := kubectl(t, "", "scale", "-n", ns, "deployment/web", "--replicas=3"); err != nil {
		t.Errorf("kubectl scale (the /scale subresource) failed with scaleguard down: %v", err)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := env.bed.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hpa); err != nil {
		t.Fatal(err)
	}
	hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas = 3, 3
	if err := env.bed.Client.Status().Update(ctx, &hpa); err != nil {
		t.Errorf("HPA /status write failed with scaleguard down: %v", err)
	}
	err := env.bed.Client.Create(ctx, harness.Deployment(ns, "while-down", false))
	if err == nil {
		t.Fatal("with failurePolicy Fail, a create went through while scaleguard was down")
	}
	mustContain(t, "the refusal", err.Error(), `failed calling webhook "workload.validate.scaleguard.io"`)

	// failurePolicy: Ignore lets creates through.
	env.webhooks.SetValidatingFailurePolicy(admissionregistrationv1.Ignore)
	if err := env.webhooks.Apply(ctx, env.bed.Client); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		return env.bed.Client.Create(ctx, harness.Deployment(ns, "while-down-ignored", false), client.DryRunAll)
	})
}

// eventually retries f until it succeeds or 20 s pass.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	harness.Eventually(t, 20*time.Second, "condition", f)
}
