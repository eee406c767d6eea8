package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The standard as Kubernetes objects, through the real API server and
// kubectl: a ClusterScalingStandard that selects this test's namespaces
// (so the other tests keep the settings file's standard), and one
// ScalingStandard in each namespace.

// standardsLabel selects this test's namespaces for its cluster standard.
const standardsLabel = "e2e.scaleguard.io/standards"

func clusterStandardYAML(name, value string, minimum int) string {
	return fmt.Sprintf(`apiVersion: scaleguard.io/v1alpha1
kind: ClusterScalingStandard
metadata: {name: %s}
spec:
  namespaceSelector: {matchLabels: {%s: %s}}
  rules:
    min-replicas: {minimum: %d}
  overrides:
    minReplicasFloor: 2
    relaxableRules: [requests-required]
`, name, standardsLabel, value, minimum)
}

// applyCluster applies a cluster-scoped manifest.
func applyCluster(t *testing.T, manifest string) (stdout, stderr string, err error) {
	t.Helper()
	return kubectl(t, manifest, "apply", "-f", "-")
}

func mustApplyCluster(t *testing.T, manifest string) {
	t.Helper()
	if _, stderr, err := applyCluster(t, manifest); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, stderr)
	}
}

func scalingStandardYAML(name, spec string) string {
	return "apiVersion: scaleguard.io/v1alpha1\nkind: ScalingStandard\nmetadata: {name: " + name + "}\nspec:\n" + spec
}

// hpaMinReplicas dry-runs an HPA without minReplicas (the API server makes
// it 1) and returns the minReplicas the webhooks left it with. It scales a
// Deployment that does not exist (target-exists only warns), so that it
// never meets another HPA's target.
func hpaMinReplicas(t *testing.T, ns string) (string, error) {
	t.Helper()
	manifest := strings.Replace(hpa("probe", "Deployment", "probe", utilization("cpu", 70), utilization("memory", 80)), "  minReplicas: 2\n", "", 1)
	stdout, stderr, err := apply(t, ns, manifest, "--dry-run=server", "-o", "jsonpath={.spec.minReplicas}")
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr)
	}
	return stdout, nil
}

// dryRunMinReplicas is hpaMinReplicas through client-go: no kubectl process
// to start, so that a measured delay is scaleguard's, not the probe's.
func dryRunMinReplicas(ns string) (int32, error) {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "probe"},
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}},
			},
		},
	}
	if err := env.bed.Client.Create(context.Background(), h, client.DryRunAll); err != nil {
		return 0, err
	}
	return ptr.Deref(h.Spec.MinReplicas, 0), nil
}

// conditionStatus reads one condition of a standard's status.
func conditionStatus(t *testing.T, args ...string) string {
	t.Helper()
	out, _, _ := kubectl(t, "", append(args, "-o", `jsonpath={.status.conditions[?(@.type=="Valid")].status}/{.status.conditions[?(@.type=="Valid")].message}/{.status.observedGeneration}`)...)
	return out
}

func TestStandardsPerNamespace(t *testing.T) {
	value := fmt.Sprintf("s%d", time.Now().UnixNano())
	cluster := "e2e-" + value
	payments := namespace(t, map[string]string{standardsLabel: value})
	sandbox := namespace(t, map[string]string{standardsLabel: value})
	// Applied together: the ScalingStandard, which relaxes a rule only the
	// new cluster standard lets it relax, may reach scaleguard before the
	// informers have the cluster standard; the webhook then reads the
	// standards from the API server before it refuses.
	sandboxStandard := strings.Replace(scalingStandardYAML("sandbox", "  actions: [{rule: requests-required, action: warn}]\n"),
		"metadata: {name: sandbox}", "metadata: {name: sandbox, namespace: "+sandbox+"}", 1)
	mustApplyCluster(t, clusterStandardYAML(cluster, value, 2)+"---\n"+sandboxStandard)
	t.Cleanup(func() {
		_, _, _ = kubectl(t, "", "delete", "clusterscalingstandard", cluster, "--wait=false")
	})
	mustApply(t, payments, scalingStandardYAML("payments", "  minReplicas: 3\n"))
	for _, ns := range []string{payments, sandbox} {
		mustApply(t, ns, workload("web", 2, bothRequests))
	}

	// Each status says the object is valid, for its generation.
	eventually(t, func() error {
		for _, args := range [][]string{
			{"get", "clusterscalingstandard", cluster},
			{"get", "-n", payments, "scalingstandard", "payments"},
			{"get", "-n", sandbox, "scalingstandard", "sandbox"},
		} {
			if got := conditionStatus(t, args...); !strings.HasPrefix(got, "True/") || !strings.HasSuffix(got, "/1") {
				return fmt.Errorf("%v: Valid/message/observedGeneration = %q", args, got)
			}
		}
		return nil
	})

	t.Run("the same HPA gets minReplicas 3 in one namespace and 2 in the other", func(t *testing.T) {
		for ns, want := range map[string]string{payments: "3", sandbox: "2"} {
			eventually(t, func() error {
				if got, err := hpaMinReplicas(t, ns); err != nil || got != want {
					return fmt.Errorf("%s: minReplicas %q (%v), want %s", ns, got, err, want)
				}
				return nil
			})
		}
		// An HPA written with minReplicas 2 is compliant under the cluster
		// standard, and only payments' 3 patches it: the API server sends it
		// because the conditions scaleguard installs are the union of every
		// namespace's standard.
		atTwo := hpa("two", "Deployment", "probe", utilization("cpu", 70), utilization("memory", 80))
		eventually(t, func() error {
			out, stderr, err := apply(t, payments, atTwo, "--dry-run=server", "-o", "jsonpath={.spec.minReplicas}")
			if err != nil || out != "3" {
				return fmt.Errorf("minReplicas 2 in %s came back %q (%v %s), want 3", payments, out, err, stderr)
			}
			return nil
		})
		manifest := strings.Replace(hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)), "  minReplicas: 2\n", "  minReplicas: 1\n", 1)
		_, stderr := mustApply(t, payments, manifest)
		mustContain(t, "the patch warning", stderr, "[min-replicas]", "(ScalingStandard "+payments+"/payments)")
		mustApply(t, sandbox, manifest)
		for ns, want := range map[string]string{payments: "3", sandbox: "2"} {
			got, _, err := kubectl(t, "", "get", "-n", ns, "hpa", "web", "-o", "jsonpath={.spec.minReplicas}")
			if err != nil || got != want {
				t.Errorf("%s: stored minReplicas %q (%v), want %s", ns, got, err, want)
			}
		}
	})

	t.Run("the same Deployment without requests is refused in one namespace and warned in the other", func(t *testing.T) {
		bare := workload("bare", 2, "")
		_, stderr, err := apply(t, payments, bare)
		if err == nil {
			t.Fatalf("stored in %s", payments)
		}
		mustContain(t, "the refusal", stderr, "[requests-required]", "(ScalingStandard "+payments+"/payments)")
		_, stderr, err = apply(t, sandbox, bare)
		if err != nil {
			t.Fatalf("refused in %s: %s", sandbox, stderr)
		}
		mustContain(t, "the warning", stderr, "Warning:", "[requests-required]", "(ScalingStandard "+sandbox+"/sandbox)")
	})

	t.Run("an override outside the bounds is refused by the API server, naming the bound", func(t *testing.T) {
		for _, tc := range []struct{ ns, spec, want string }{
			{sandbox, "  minReplicas: 1\n", "spec.minReplicas: 1 is below overrides.minReplicasFloor 2"},
			{payments, "  actions: [{rule: hpa-api-version, action: warn}]\n", "hpa-api-version may not go from deny to warn: overrides.relaxableRules does not list it"},
			{payments, "  mode: warn\n", "overrides.warnMode is false"},
			// What the CRD's own CEL rules refuse, before any webhook.
			{payments, "  actions: [{rule: requests-required, action: \"off\"}]\n", "a ScalingStandard cannot turn a rule off"},
		} {
			_, stderr, err := apply(t, tc.ns, scalingStandardYAML("bounded", tc.spec))
			if err == nil {
				t.Errorf("%q stored", tc.spec)
				continue
			}
			mustContain(t, "the refusal", stderr, tc.want)
			if !strings.Contains(stderr, "ClusterScalingStandard "+cluster) && !strings.Contains(tc.want, "cannot turn") {
				t.Errorf("the refusal does not name the standard that sets the bound:\n%s", stderr)
			}
		}
		// The cluster standard's own bounds, by CEL in the CRD.
		_, stderr, err := applyCluster(t, strings.Replace(clusterStandardYAML(cluster+"-x", value, 2), "minReplicasFloor: 2", "minReplicasFloor: 5", 1))
		if err == nil {
			t.Fatal("a floor above the standard's own minimum was stored")
		}
		mustContain(t, "the refusal", stderr, "overrides.minReplicasFloor must not be above rules.min-replicas.minimum")
	})

	t.Run("kubectl get shows the effective minReplicas and mode", func(t *testing.T) {
		out, _, err := kubectl(t, "", "get", "clusterscalingstandards,scalingstandards", "-A")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "kubectl get", out, "MIN REPLICAS", "MODE", "AGE")
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[0] == payments && strings.HasSuffix(f[1], "/payments") {
				found = true
				if f[2] != "3" || f[3] != "enforce" || f[4] != "True" {
					t.Errorf("payments shows %q, want minReplicas 3, enforce, valid", line)
				}
			}
		}
		if !found {
			t.Errorf("no line for ScalingStandard %s/payments:\n%s", payments, out)
		}
		t.Logf("kubectl get clusterscalingstandards,scalingstandards -A:\n%s", out)
		explain, _, err := kubectl(t, "", "explain", "scalingstandard.spec")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "kubectl explain", explain, "minReplicas", "overrides.minReplicasFloor", "actions", "behavior", "mode")
	})

	t.Run("editing the cluster standard changes the next admission within 5 s, without a restart", func(t *testing.T) {
		pid := env.sg.PID()
		// Timed from the moment the edit is stored (kubectl apply returned),
		// to the first dry run that gets the new minimum.
		mustApplyCluster(t, clusterStandardYAML(cluster, value, 4))
		start := time.Now()
		var took time.Duration
		for {
			if got, err := dryRunMinReplicas(sandbox); err == nil && got == 4 {
				took = time.Since(start)
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("the sandbox namespace still gets the old minimum 10 s after the edit")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("the edited standard applied %v after kubectl apply returned", took)
		if took > 5*time.Second {
			t.Errorf("the edit took %v to apply, want at most 5 s", took)
		}
		if env.sg.PID() != pid {
			t.Error("scaleguard restarted")
		}
		// payments keeps its own 3: its floor is still 2.
		if got, err := hpaMinReplicas(t, payments); err != nil || got != "3" {
			t.Errorf("payments: minReplicas %q (%v), want its override's 3", got, err)
		}
	})

	t.Run("an invalid cluster standard never replaces the last valid one, and its status says why", func(t *testing.T) {
		invalid := strings.Replace(clusterStandardYAML(cluster, value, 4), "  rules:\n", "  rules:\n    requests-required: {action: mutate}\n", 1)
		mustApplyCluster(t, invalid)
		eventually(t, func() error {
			got := conditionStatus(t, "get", "clusterscalingstandard", cluster)
			if !strings.HasPrefix(got, "False/") || !strings.Contains(got, `spec.rules.requests-required.action: Unsupported value: "mutate"`) {
				return fmt.Errorf("Valid/message/observedGeneration = %q", got)
			}
			return nil
		})
		if got, err := hpaMinReplicas(t, sandbox); err != nil || got != "4" {
			t.Errorf("sandbox: minReplicas %q (%v) under an invalid edit, want the last valid 4", got, err)
		}
		accepted, _, _ := kubectl(t, "", "get", "clusterscalingstandard", cluster, "-o", `jsonpath={.status.conditions[?(@.type=="Accepted")].reason}`)
		if accepted != "LastValidKept" {
			t.Errorf("Accepted reason %q, want LastValidKept", accepted)
		}
	})
}
