package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/test/harness"
)

// The matchConditions keep writes no rule can judge inside the API server.
// These tests run them in the real kube-apiserver: which writes reach
// scaleguard, that no condition ever fails to evaluate, and that the
// conditions follow the settings scaleguard reloads.

// metricSum is MetricSum of the shared scaleguard.
func metricSum(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, err := env.sg.MetricSum(context.Background(), name, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// conditionErrors is the API server's count of matchConditions that failed
// to evaluate (each one is treated as the webhook's failure policy).
func conditionErrors(t *testing.T) float64 {
	t.Helper()
	out, _, err := kubectl(t, "", "get", "--raw", "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for line := range strings.Lines(out) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && strings.HasPrefix(series, "apiserver_admission_match_condition_evaluation_errors_total") {
			v, _ := strconv.ParseFloat(value, 64)
			sum += v
		}
	}
	return sum
}

// waitConditionsInSync waits until scaleguard reports that the installed
// configurations carry the conditions of its settings.
func waitConditionsInSync(t *testing.T) {
	t.Helper()
	if err := env.sg.WaitMetric(context.Background(), "scaleguard_webhook_conditions_in_sync", 30*time.Second, func(v float64) bool { return v == 1 }); err != nil {
		t.Fatal(err)
	}
}

// TestCompliantWritesNeverReachScaleguard: scaleguard running, a compliant
// Deployment and an unchanged-spec update are admitted without a review,
// while a Deployment without requests is reviewed.
func TestCompliantWritesNeverReachScaleguard(t *testing.T) {
	ctx := context.Background()
	waitConditionsInSync(t)
	ns := namespace(t, nil)
	reviews := func() float64 { return metricSum(t, "scaleguard_admission_reviews_total", `handler="workload-`) }
	before := reviews()
	mustApply(t, ns, workload("web", 2, bothRequests))
	if _, _, err := kubectl(t, "", "label", "-n", ns, "deployment/web", "team=checkout"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kubectl(t, "", "set", "image", "-n", ns, "deployment/web", "app=example.com/app:2"); err != nil {
		t.Fatal(err)
	}
	if got := reviews(); got != before {
		t.Errorf("scaleguard reviewed %v workload writes that no rule can judge", got-before)
	}
	err := env.bed.Client.Create(ctx, harness.Deployment(ns, "bare", false))
	if err == nil || !strings.Contains(err.Error(), "requests-required") {
		t.Fatalf("a Deployment without requests: %v", err)
	}
	if got := reviews(); got <= before {
		t.Error("the Deployment without requests was refused without a review by scaleguard")
	}
}

// oddWrite is one write for TestConditionsWithScaleguardDown: sent says
// whether the conditions must send it to scaleguard.
type oddWrite struct {
	name     string
	manifest string
	args     []string // kubectl arguments instead of applying manifest
	sent     bool
	// invalid: the API server's own validation refuses it (after the
	// mutating webhooks' conditions have run on it).
	invalid bool
}

// TestConditionsWithScaleguardDown stops scaleguard and makes every webhook
// fail closed: a write the conditions keep in the API server is admitted, a
// write they send is refused for want of scaleguard — and none of the odd
// objects below makes a condition fail to evaluate (which, under Fail,
// would refuse the write without calling anything).
func TestConditionsWithScaleguardDown(t *testing.T) {
	ctx := context.Background()
	waitConditionsInSync(t)
	ns := namespace(t, nil)
	mustApply(t, ns, workload("web", 2, bothRequests))
	mustApply(t, ns, hpa("web", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)))
	lowmin := strings.Replace(hpa("lowmin", "Deployment", "web", utilization("cpu", 70), utilization("memory", 80)),
		"metadata: {name: lowmin}", `metadata: {name: lowmin, annotations: {scaleguard.io/exempt: "min-replicas,duplicate-hpa", scaleguard.io/exempt-reason: "e2e"}}`, 1)
	mustApply(t, ns, strings.Replace(lowmin, "minReplicas: 2", "minReplicas: 1", 1))
	errorsBefore := conditionErrors(t)

	if err := env.sg.Stop(); err != nil {
		t.Fatal(err)
	}
	mutating := env.webhooks.Mutating.DeepCopy()
	for i := range env.webhooks.Mutating.Webhooks {
		env.webhooks.Mutating.Webhooks[i].FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	if err := env.webhooks.Apply(ctx, env.bed.Client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		env.webhooks.Mutating = mutating
		if err := env.webhooks.Apply(ctx, env.bed.Client); err != nil {
			t.Errorf("restoring webhook configurations: %v", err)
		}
		if err := env.sg.Restart(ctx); err != nil {
			t.Errorf("restarting scaleguard: %v", err)
		}
	})
	// The API server's webhook informer sees the Fail policy a moment later:
	// a label on an HPA whose exemption kept minReplicas at 1 reaches only
	// the mutating webhook (whose condition does not read exemptions).
	eventually(t, func() error {
		_, stderr, err := kubectl(t, "", "label", "-n", ns, "hpa/lowmin", "probe=1", "--dry-run=server")
		if err == nil || !strings.Contains(stderr, `failed calling webhook "hpa.mutate.scaleguard.io"`) {
			return fmt.Errorf("the mutating webhook does not fail closed yet: %v %s", err, stderr)
		}
		return nil
	})

	pod := func(spec string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: NAME}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n" + spec
	}
	hpaWith := func(spec string) string {
		return "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: NAME}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 5\n" + spec
	}
	writes := []oddWrite{
		// Kept inside the API server.
		{name: "compliant Deployment", manifest: workload("NAME", 2, bothRequests)},
		{name: "sidecar with requests, plain init container without",
			manifest: pod("      initContainers:\n      - {name: proxy, image: p:1, restartPolicy: Always, resources: {requests: {cpu: 10m, memory: 16Mi}}}\n      - {name: migrate, image: m:1}\n      containers:\n      - {name: app, image: a:1, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {memory: 2Gi}}}\n")},
		{name: "compliant StatefulSet", manifest: strings.Replace(strings.Replace(workload("NAME", 2, bothRequests), "kind: Deployment", "kind: StatefulSet", 1), "spec:\n", "spec:\n  serviceName: NAME\n", 1)},
		{name: "label on a Deployment", args: []string{"label", "deployment/web", "tier=NAME"}},
		{name: "image of a Deployment", args: []string{"set", "image", "deployment/web", "app=example.com/app:NAME"}},
		{name: "label on an HPA", args: []string{"label", "hpa/web", "tier=NAME"}},
		// Sent to scaleguard, and so refused while it is down.
		{name: "no requests", manifest: workload("NAME", 2, ""), sent: true},
		{name: "null resources", manifest: pod("      containers:\n      - {name: app, image: a:1, resources: null}\n"), sent: true},
		{name: "zero request", manifest: workload("NAME", 2, `{requests: {cpu: "0", memory: 1Gi}}`), sent: true},
		{name: "limits only", manifest: workload("NAME", 2, `{limits: {cpu: 1, memory: 1Gi}}`), sent: true},
		{name: "limit equal to request in other units", manifest: workload("NAME", 2, `{requests: {cpu: 100m, memory: 1Gi}, limits: {memory: 1024Mi}}`), sent: true},
		{name: "pod-level requests only", manifest: pod("      resources: {requests: {cpu: 1, memory: 1Gi}}\n      containers:\n      - {name: app, image: a:1}\n"), sent: true},
		{name: "sidecar without requests", manifest: pod("      initContainers:\n      - {name: proxy, image: p:1, restartPolicy: Always}\n      containers:\n      - {name: app, image: a:1, resources: {requests: {cpu: 1, memory: 1Gi}}}\n"), sent: true},
		{name: "exemption annotation", manifest: workload("NAME", 2, bothRequests, `scaleguard.io/exempt: cost-ceiling`), sent: true},
		{name: "replica change", args: []string{"patch", "deployment/web", "--type=merge", "-p", `{"spec":{"replicas":7}}`}, sent: true},
		{name: "requests change", args: []string{"set", "resources", "deployment/web", "--requests=cpu=200m,memory=128Mi"}, sent: true},
		{name: "no containers", manifest: pod("      containers: []\n"), invalid: true},
		{name: "HPA create", manifest: hpaWith("  minReplicas: 2\n"), sent: true},
		{name: "HPA with empty metrics and behavior", manifest: hpaWith("  metrics: []\n  behavior: {}\n"), sent: true},
		{name: "HPA with a metric of no type", manifest: hpaWith("  metrics: [{}]\n  behavior: {scaleDown: {}}\n"), sent: true},
		{name: "HPA spec change", args: []string{"patch", "hpa/web", "--type=merge", "-p", `{"spec":{"maxReplicas":12}}`}, sent: true},
	}
	for i, w := range writes {
		name := fmt.Sprintf("odd%d", i)
		var stderr string
		var err error
		if w.args != nil {
			args := append([]string{"-n", ns}, w.args...)
			for j := range args {
				args[j] = strings.ReplaceAll(args[j], "NAME", name)
			}
			_, stderr, err = kubectl(t, "", args...)
		} else {
			_, stderr, err = apply(t, ns, strings.ReplaceAll(w.manifest, "NAME", name))
		}
		switch {
		// The API server refuses a write whose condition fails under Fail
		// with the CEL error (k8s.io/apiserver generic.Webhook.ShouldCallHook).
		case strings.Contains(stderr, "resulted in error"):
			t.Errorf("%s: a condition failed to evaluate: %s", w.name, stderr)
		case w.invalid:
			if err == nil || !strings.Contains(stderr, "Required value") {
				t.Errorf("%s: want the API server's own validation error: %v %s", w.name, err, stderr)
			}
		case w.sent && err == nil:
			t.Errorf("%s: admitted with scaleguard down under Fail, so it never reached scaleguard", w.name)
		case w.sent && !strings.Contains(stderr, "failed calling webhook"):
			t.Errorf("%s: refused, but not for want of scaleguard: %s", w.name, stderr)
		case !w.sent && err != nil:
			t.Errorf("%s: refused with scaleguard down (the conditions should have kept it in the API server): %s", w.name, stderr)
		}
	}
	if after := conditionErrors(t); after != errorsBefore {
		t.Errorf("apiserver_admission_match_condition_evaluation_errors_total rose by %v", after-errorsBefore)
	}
}

// TestConditionsFollowTheSettings: adding a required resource to the
// settings file makes scaleguard rewrite the conditions, and the API server
// then sends (and scaleguard refuses) a Deployment it admitted unseen
// before. (TestHPAReplicasConflict turns on the workload mutator the same
// way: its condition is false until hpa-replicas-conflict is set to mutate.)
func TestConditionsFollowTheSettings(t *testing.T) {
	ctx := context.Background()
	waitConditionsInSync(t)
	ns := namespace(t, nil)
	d := harness.Deployment(ns, "storage", true)
	if err := env.bed.Client.Create(ctx, d.DeepCopy(), client.DryRunAll); err != nil {
		t.Fatalf("a Deployment requesting cpu and memory is refused under the standard: %v", err)
	}
	condition := func() string {
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		if err := env.bed.Client.Get(ctx, client.ObjectKey{Name: env.webhooks.Validating.Name}, &v); err != nil {
			t.Fatal(err)
		}
		for _, w := range v.Webhooks {
			if w.Name == string(celpolicy.WorkloadValidate) {
				for _, c := range w.MatchConditions {
					if c.Name == celpolicy.ConditionFindings {
						return c.Expression
					}
				}
			}
		}
		return ""
	}
	if strings.Contains(condition(), "ephemeral-storage") {
		t.Fatal("the standard's condition already names ephemeral-storage")
	}
	setSettings(t, "rules:\n  requests-required:\n    resources: [cpu, memory, ephemeral-storage]\n", func() error {
		if strings.Contains(condition(), "ephemeral-storage") {
			return fmt.Errorf("the conditions still require ephemeral-storage")
		}
		return env.bed.Client.Create(ctx, d.DeepCopy(), client.DryRunAll)
	})
	eventually(t, func() error {
		err := env.bed.Client.Create(ctx, d.DeepCopy(), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "requests no ephemeral-storage") {
			return fmt.Errorf("not refused for ephemeral-storage yet: %v", err)
		}
		return nil
	})
	if !strings.Contains(condition(), "ephemeral-storage") {
		t.Error("refused, but the installed condition does not name ephemeral-storage")
	}
	waitConditionsInSync(t)
}
