package webhook

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// hpaOn is an HPA in shop scaling Deployment target.
func hpaOn(name, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MaxReplicas:    10,
		},
	}
}

func deploymentReplicas(n int) string {
	return strings.Replace(deploymentWithRequests, `"replicas": 1`, fmt.Sprintf(`"replicas": %d`, n), 1)
}

func TestHandlersReadTheCluster(t *testing.T) {
	s := policies.Defaults()
	c := policies.NewStaticCluster()
	c.AddHPA(hpaOn("other", "checkout"))
	validator := NewHPAValidator(StaticSettings{S: &s}, c, NewMetrics(), logr.Discard())
	resp := call(t, validator, reviewOf(hpaV2, minimalHPA))
	if resp.Allowed || !strings.Contains(resp.Result.Message, `[duplicate-hpa] spec.scaleTargetRef: HPA "other" already scales Deployment "checkout"`) {
		t.Errorf("a second HPA on one target was not refused: %+v", resp.Result)
	}
	if !strings.Contains(strings.Join(resp.Warnings, "\n"), "[target-exists]") {
		t.Errorf("no target-exists warning for a missing Deployment: %q", resp.Warnings)
	}
}

// unknownCluster is a view whose caches have not synced.
type unknownCluster struct{}

func (unknownCluster) LimitRanges(string) ([]corev1.LimitRange, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) Workload(string, string, string) (*policies.Workload, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) HPAsFor(string, string, string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) WorkloadPods(string) ([]policies.WorkloadPods, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) ScaleTargets(string) ([]policies.ScaleTarget, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) NamespaceLabels(string) (map[string]string, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) Scalable(string, string) (bool, error)    { return false, policies.ErrUnknown }
func (unknownCluster) MetricsAPIAvailable(string) (bool, error) { return false, policies.ErrUnknown }
func (unknownCluster) ResourceQuotas(string) ([]corev1.ResourceQuota, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) PodDisruptionBudgets(string) ([]policyv1.PodDisruptionBudget, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) VPAsFor(string, string, string) ([]*policies.VPA, error) {
	return nil, policies.ErrUnknown
}
func (unknownCluster) ScaledObjectsFor(string, string, string) ([]*policies.ScaledObject, error) {
	return nil, policies.ErrUnknown
}

// An unsynced view never denies on its own account: the object is judged
// alone and the warnings say so.
func TestUnknownClusterWarnsNeverDenies(t *testing.T) {
	s := policies.Defaults()
	src := StaticSettings{S: &s}
	validator := NewHPAValidator(src, unknownCluster{}, NewMetrics(), logr.Discard())
	resp := call(t, validator, reviewOf(hpaV2, minimalHPA))
	if !strings.Contains(strings.Join(resp.Warnings, "\n"), "not checked: scaleguard's view of the scale target is not ready yet") {
		t.Errorf("warnings %q", resp.Warnings)
	}
	workloads := NewWorkloadValidator(src, unknownCluster{}, NewMetrics(), logr.Discard())
	resp = call(t, workloads, reviewOf(deployment, deploymentNoRequests))
	if !resp.Allowed {
		t.Fatalf("refused with the LimitRanges unknown: %+v", resp.Result)
	}
	if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, "[requests-required]") || !strings.Contains(w, "LimitRanges are unknown") {
		t.Errorf("warnings %q", resp.Warnings)
	}
}

func TestWorkloadMutatorKeepsReplicas(t *testing.T) {
	c := policies.NewStaticCluster()
	c.AddHPA(hpaOn("api", "api"))
	for name, tc := range map[string]struct {
		action  policies.Action
		cluster policies.Cluster
		update  bool
		patch   string
		warn    string
	}{
		"mutate keeps the count":          {policies.Mutate, c, true, `[{"op":"replace","path":"/spec/replicas","value":3}]`, "[hpa-replicas-conflict] spec.replicas: kept spec.replicas at 3"},
		"warn leaves it to the validator": {policies.Warn, c, true, `[]`, ""},
		"create has no conflict":          {policies.Mutate, c, false, `[]`, ""},
		"no HPA, no conflict":             {policies.Mutate, policies.NewStaticCluster(), true, `[]`, ""},
		"no cluster view":                 {policies.Mutate, nil, true, `[]`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			s := policies.Defaults()
			s.Rules.HPAReplicasConflict.Action = tc.action
			mutator := NewWorkloadMutator(StaticSettings{S: &s}, tc.cluster, NewMetrics(), logr.Discard())
			var opts []reqOpt
			if tc.update {
				opts = append(opts, update(deploymentReplicas(3)))
			}
			resp := call(t, mutator, reviewOf(deployment, deploymentReplicas(5), opts...))
			if !resp.Allowed {
				t.Fatalf("mutator must not deny: %+v", resp.Result)
			}
			if got := opsJSON(t, resp.Patches); got != tc.patch && (tc.patch != "[]" || got != "null") {
				t.Errorf("patch %s, want %s", got, tc.patch)
			}
			if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, tc.warn) || (tc.warn == "" && w != "") {
				t.Errorf("warnings %q, want %q", resp.Warnings, tc.warn)
			}
		})
	}
}

func TestWorkloadMutatorFailsOpen(t *testing.T) {
	s := policies.Defaults()
	mutator := NewWorkloadMutator(StaticSettings{S: &s}, nil, NewMetrics(), logr.Discard())
	resp := call(t, mutator, reviewOf(deployment, `{"spec": "not an object"}`, update(deploymentWithRequests)))
	if !resp.Allowed || !strings.Contains(strings.Join(resp.Warnings, "\n"), "scaleguard did not mutate") {
		t.Errorf("a broken request must be admitted with a warning: %+v %q", resp.Result, resp.Warnings)
	}
}

func (unknownCluster) TargetNotFound(kind, namespace, name string) string {
	return policies.TargetNotFoundInCluster(kind, namespace, name)
}
