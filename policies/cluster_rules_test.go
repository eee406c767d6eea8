package policies

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// web is the Deployment the test HPA targets, requesting cpu and memory.
func web(opts ...func(*Workload)) Workload {
	w := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "500m", "memory", "1Gi"), res("memory", "2Gi"))}})
	w.Replicas = ptr.To[int32](3)
	for _, o := range opts {
		o(&w)
	}
	return w
}

func clusterWith(ws []Workload, hpas ...*autoscalingv2.HorizontalPodAutoscaler) *StaticCluster {
	c := NewStaticCluster()
	for _, w := range ws {
		c.AddWorkload(w)
	}
	for _, h := range hpas {
		c.AddHPA(h)
	}
	return c
}

func findingsOf(fs Findings, rule string) Findings {
	var out Findings
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestHPAClusterRules(t *testing.T) {
	memoryAverageValue := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("1Gi"))}}}
	containerCPU := func(name string) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceCPU, Container: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}
	}
	capped := func(w *Workload) {
		w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "1Gi"), Limits: res("cpu", "1", "memory", "1Gi")}
	}
	tests := map[string]struct {
		hpa     *autoscalingv2.HorizontalPodAutoscaler
		cluster *StaticCluster
		rule    string
		want    []string // "action path"
		mention string
	}{
		"target exists": {hpa: hpa(), cluster: clusterWith([]Workload{web()}), rule: TargetExists},
		"target missing warns": {hpa: hpa(), cluster: clusterWith(nil), rule: TargetExists,
			want: []string{"warn spec.scaleTargetRef.name"}, mention: `Deployment "web" does not exist in namespace shop`},
		"DaemonSet cannot scale": {
			hpa: hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent"}
			}),
			rule: ScaleTargetKind, want: []string{"deny spec.scaleTargetRef.kind"}, mention: "has no /scale subresource"},
		"custom resource without scale": {
			hpa: hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w"}
			}),
			cluster: func() *StaticCluster {
				c := clusterWith(nil)
				c.ScalableKinds = map[string]bool{"example.com/Widget": false}
				return c
			}(),
			rule: ScaleTargetKind, want: []string{"deny spec.scaleTargetRef.kind"}},
		"second HPA on a target": {
			hpa:     hpa(),
			cluster: clusterWith([]Workload{web()}, hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Name = "web-memory" })),
			rule:    DuplicateHPA, want: []string{"deny spec.scaleTargetRef"}, mention: `HPA "web-memory" already scales Deployment "web"`},
		"the HPA itself is no duplicate": {hpa: hpa(), cluster: clusterWith([]Workload{web()}, hpa()), rule: DuplicateHPA},
		"memory utilization without a memory request": {
			hpa: hpa(),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "1")}
			})}),
			rule: TargetRequests, want: []string{"deny spec.metrics[1]"}, mention: `container "app" of Deployment "web" requests no memory`},
		"AverageValue needs no request": {
			hpa: hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 70), memoryAverageValue)),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "1")}
			})}),
			rule: TargetRequests},
		"a sidecar is measured too": {
			hpa: hpa(),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.InitContainers = []corev1.Container{sidecar(container("proxy", res("cpu", "10m"), nil))}
			})}),
			rule: TargetRequests, want: []string{"deny spec.metrics[1]"}, mention: `container "proxy"`},
		"ContainerResource names a missing container": {
			hpa:     hpa(withMetrics(containerCPU("server"), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web()}),
			rule:    TargetRequests, want: []string{"deny spec.metrics[0].containerResource.container"}, mention: `container "server", which Deployment "web" does not have`},
		"ContainerResource on an existing container": {
			hpa:     hpa(withMetrics(containerCPU("app"), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web()}), rule: TargetRequests},
		// Cases read from the HPA controller's calculateRequests
		// (replica_calculator.go): pod-level requests replace the
		// containers' sum only when no container is named.
		"Resource metric with pod-level requests only": {
			hpa: hpa(),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
				w.Template.Spec.Resources = &corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "1Gi")}
			})}),
			rule: TargetRequests},
		"ContainerResource with pod-level requests only": {
			hpa: hpa(withMetrics(containerCPU("app"), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
				w.Template.Spec.Resources = &corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "1Gi")}
			})}),
			rule: TargetRequests, want: []string{"deny spec.metrics[0]"},
			mention: "pod-level requests do not count: for a named container the HPA controller reads that container's own request"},
		"ContainerResource with the container's limit only": {
			hpa: hpa(withMetrics(containerCPU("app"), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("memory", "1Gi"), Limits: res("cpu", "1")}
			})}),
			rule: TargetRequests},
		// A zero request is still a request to calculatePodRequestsFromContainers;
		// GetResourceUtilizationRatio (metrics/utilization.go) fails only
		// when the requests of the pods total 0.
		"a zero memory request beside a positive one: the metric works": {
			hpa: hpa(),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.InitContainers = []corev1.Container{sidecar(container("proxy", res("cpu", "10m", "memory", "0"), nil))}
			})}),
			rule: TargetRequests},
		"only zero memory requests: the metric fails": {
			hpa: hpa(),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "0")}
			})}),
			rule: TargetRequests, want: []string{"deny spec.metrics[1]"}, mention: `container "app" of Deployment "web" requests no memory`},
		// For a named container calculatePodRequestsFromContainers reads its
		// request alone: 0 makes the total 0.
		"ContainerResource on a container requesting 0": {
			hpa: hpa(withMetrics(containerCPU("app"), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "0", "memory", "1Gi")}
			})}),
			rule: TargetRequests, want: []string{"deny spec.metrics[0]"}, mention: `container "app", which requests no cpu`},
		"target 95 with limits equal to requests can never scale up": {
			hpa:     hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 95), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web(capped)}),
			rule:    UtilizationReachable, want: []string{"deny spec.metrics[0]"},
			mention: "a cpu target of 95% scales up only above 104.5% of requests (tolerance 0.1)",
		},
		"target 90 is reachable under the same limits": {
			hpa:     hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 90), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web(capped)}), rule: UtilizationReachable},
		"a smaller tolerance makes 95 reachable": {
			hpa: hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 95), utilizationMetric(corev1.ResourceMemory, 80)), func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior.ScaleUp.Tolerance = ptr.To(resource.MustParse("0.05"))
			}),
			cluster: clusterWith([]Workload{web(capped)}), rule: UtilizationReachable},
		"limits above requests leave room": {
			hpa:     hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 95), utilizationMetric(corev1.ResourceMemory, 80))),
			cluster: clusterWith([]Workload{web()}), rule: UtilizationReachable},
		"no metrics-server": {
			hpa: hpa(),
			cluster: func() *StaticCluster {
				c := clusterWith([]Workload{web()})
				c.MetricsAPIs = map[string]bool{"metrics.k8s.io": false}
				return c
			}(),
			rule: MetricsAvailable, want: []string{"warn spec.metrics"}, mention: "metrics-server (metrics.k8s.io)"},
	}
	s := Defaults()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var c Cluster
			if tc.cluster != nil {
				c = tc.cluster
			}
			r := EvaluateHPA(HPAReview{Object: tc.hpa, Cluster: c}, &s)
			assertFindings(t, findingsOf(r.Findings, tc.rule), tc.want, nonEmpty(tc.mention))
		})
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// TestCostCeiling: one replica is charged as k8s.io/component-helpers'
// resource.PodRequests charges the pod the template becomes (the cases
// are read from it and from the defaults applied before it).
func TestCostCeiling(t *testing.T) {
	s := Defaults()
	s.Rules.CostCeiling.Action = Deny
	s.Rules.CostCeiling.CPUHourPrice = 0.04
	s.Rules.CostCeiling.MemoryGiBHourPrice = 0.005
	tests := map[string]struct {
		workload Workload
		limits   []corev1.LimitRange
		budget   float64
		want     string // "action figure"
	}{
		// One replica: 500m CPU and 1 GiB. At 10 replicas: 5 CPU and 10 GiB,
		// (5 × 0.04 + 10 × 0.005) × 730 h = 0.25 × 730 = 182.50 a month.
		"requests":      {workload: web(), want: "warn requests 5.00 CPU and 10.00 GiB: up to 182.50 USD a month"},
		"over a budget": {workload: web(), budget: 150, want: "deny up to 182.50 USD a month, over the budget of 150.00 USD"},
		// PodRequests charges a plain init container by its maximum beside
		// the app containers' sum: max(500m, 2) CPU, max(1Gi, 256Mi).
		"a larger init container": {
			workload: web(func(w *Workload) {
				w.Template.Spec.InitContainers = []corev1.Container{container("migrate", res("cpu", "2", "memory", "256Mi"), nil)}
			}),
			want: "warn requests 20.00 CPU and 10.00 GiB: up to 620.50 USD a month"},
		// A sidecar runs beside the app: summed.
		"a sidecar": {
			workload: web(func(w *Workload) {
				w.Template.Spec.InitContainers = []corev1.Container{sidecar(container("proxy", res("cpu", "500m", "memory", "1Gi"), nil))}
			}),
			want: "warn requests 10.00 CPU and 20.00 GiB: up to 365.00 USD a month"},
		// SetDefaults_Pod copies a limit into a missing request.
		"limits only": {
			workload: web(func(w *Workload) {
				w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: res("cpu", "500m", "memory", "1Gi")}
			}),
			want: "warn requests 5.00 CPU and 10.00 GiB: up to 182.50 USD a month"},
		// LimitRanger fills a missing request from defaultRequest.
		"a LimitRange's defaultRequest": {
			workload: web(func(w *Workload) { w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{} }),
			limits: []corev1.LimitRange{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer, DefaultRequest: res("cpu", "500m", "memory", "1Gi")}}}}},
			want: "warn requests 5.00 CPU and 10.00 GiB: up to 182.50 USD a month"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := clusterWith([]Workload{tc.workload})
			for _, lr := range tc.limits {
				c.AddLimitRange(lr)
			}
			s := s
			s.Rules.CostCeiling.MonthlyBudget = tc.budget
			r := EvaluateHPA(HPAReview{Object: hpa(), Cluster: c}, &s)
			action, figure, _ := strings.Cut(tc.want, " ")
			assertFindings(t, findingsOf(r.Findings, CostCeiling), []string{action + " spec.maxReplicas"}, []string{figure})
		})
	}
}

// TestWorkloadSideOfHPARules: a container without a request an HPA needs
// is reported once on the workload — by requests-required when it says so
// at least as strictly, else by target-requests at the container — and
// once per metric on the HPA.
func TestWorkloadSideOfHPARules(t *testing.T) {
	dropsMemory := web(func(w *Workload) {
		w.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "1Gi")}
		w.Template.Spec.Containers = append(w.Template.Spec.Containers,
			container("cache", res("cpu", "100m"), nil), container("log", res("cpu", "100m"), nil))
	})
	twoHPAs := clusterWith(nil, hpa(), hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Name = "web-memory" }))
	tests := map[string]struct {
		settings         func(*Settings)
		want, mention    []string
		requestsRequired int
	}{
		"requests-required says it: target-requests is silent": {
			requestsRequired: 2,
		},
		"requests-required only warns: target-requests still refuses, once per container": {
			settings:         func(s *Settings) { s.Rules.RequestsRequired.Action = Warn },
			requestsRequired: 2,
			want:             []string{"deny spec.template.spec.containers[1].resources.requests", "deny spec.template.spec.containers[2].resources.requests"},
			mention:          []string{`HPAs "web" and "web-memory" measure memory utilization, but container "cache" of Deployment "web" requests no memory`, `container "log"`},
		},
		"requests-required off: target-requests says it": {
			settings: func(s *Settings) { s.Rules.RequestsRequired.Action = Off },
			want:     []string{"deny spec.template.spec.containers[1].resources.requests", "deny spec.template.spec.containers[2].resources.requests"},
			mention:  []string{`container "cache"`, `container "log"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			if tc.settings != nil {
				tc.settings(&s)
			}
			old := web()
			got := EvaluateWorkload(WorkloadReview{Object: dropsMemory, Old: &old, Cluster: twoHPAs}, &s)
			assertFindings(t, findingsOf(got, TargetRequests), tc.want, tc.mention)
			if n := len(findingsOf(got, RequestsRequired)); n != tc.requestsRequired {
				t.Errorf("%d requests-required findings, want %d", n, tc.requestsRequired)
			}
			// On each HPA: one finding for the memory metric, naming both
			// containers.
			r := EvaluateHPA(HPAReview{Object: hpa(), Cluster: clusterWith([]Workload{dropsMemory})}, &s)
			assertFindings(t, findingsOf(r.Findings, TargetRequests), []string{"deny spec.metrics[1]"},
				[]string{`containers "cache" and "log" of Deployment "web" request no memory`})
		})
	}
}

func TestHPAReplicasConflict(t *testing.T) {
	old := web()
	scaledDown := web(func(w *Workload) { w.Replicas = ptr.To[int32](1) })
	tests := map[string]struct {
		action   Action
		old      *Workload
		final    bool
		hpas     []*autoscalingv2.HorizontalPodAutoscaler
		want     []string
		replicas *int32
	}{
		"warn":           {action: Warn, old: &old, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()}, want: []string{"warn spec.replicas"}},
		"mutate keeps 3": {action: Mutate, old: &old, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()}, want: []string{"mutate spec.replicas"}, replicas: ptr.To[int32](3)},
		"mutate, final object: a warning, nothing kept": {action: Mutate, old: &old, final: true, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()}, want: []string{"warn spec.replicas"}},
		"no HPA, no conflict":                           {action: Warn, old: &old},
		"create is no change":                           {action: Warn, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.Rules.HPAReplicasConflict.Action = tc.action
			r := EvaluateWorkloadFull(WorkloadReview{Object: scaledDown, Old: tc.old, Cluster: clusterWith(nil, tc.hpas...), Final: tc.final}, &s)
			assertFindings(t, findingsOf(r.Findings, HPAReplicasConflict), tc.want, nil)
			if (r.Replicas == nil) != (tc.replicas == nil) || (r.Replicas != nil && *r.Replicas != *tc.replicas) {
				t.Errorf("replicas = %v, want %v", r.Replicas, tc.replicas)
			}
		})
	}
}

func TestExternallyManagedHPAIsNotMutated(t *testing.T) {
	s := Defaults()
	owned := hpa(withMin(nil), withBehavior(nil), func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "orders", Controller: ptr.To(true)}}
	})
	for _, final := range []bool{false, true} {
		r := EvaluateHPA(HPAReview{Object: owned, Final: final}, &s)
		if r.Mutated {
			t.Fatalf("final=%v: a KEDA-owned HPA was mutated", final)
		}
		if r.Findings.Denied() {
			t.Fatalf("final=%v: a KEDA-owned HPA was denied for what only a mutation would fix: %v", final, r.Findings)
		}
		if len(r.Findings) == 0 || !strings.Contains(r.Findings[0].Message, `keda.sh ScaledObject "orders" owns this HPA`) {
			t.Errorf("final=%v: want warnings naming the owner, got %v", final, r.Findings)
		}
	}
}

// unknownCluster answers nothing, like an unsynced cache.
type unknownCluster struct{}

func (unknownCluster) LimitRanges(string) ([]corev1.LimitRange, error) { return nil, ErrUnknown }
func (unknownCluster) Workload(string, string, string) (*Workload, error) {
	return nil, ErrUnknown
}
func (unknownCluster) HPAsFor(string, string, string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	return nil, ErrUnknown
}
func (unknownCluster) WorkloadPods(string) ([]WorkloadPods, error) { return nil, ErrUnknown }
func (unknownCluster) ScaleTargets(string) ([]ScaleTarget, error)  { return nil, ErrUnknown }
func (unknownCluster) Scalable(string, string) (bool, error)       { return false, ErrUnknown }
func (unknownCluster) MetricsAPIAvailable(string) (bool, error)    { return false, ErrUnknown }
func (unknownCluster) ResourceQuotas(string) ([]corev1.ResourceQuota, error) {
	return nil, ErrUnknown
}
func (unknownCluster) PodDisruptionBudgets(string) ([]policyv1.PodDisruptionBudget, error) {
	return nil, ErrUnknown
}
func (unknownCluster) NamespaceLabels(string) (map[string]string, error) { return nil, ErrUnknown }
func (unknownCluster) VPAsFor(string, string, string) ([]*VPA, error)    { return nil, ErrUnknown }
func (unknownCluster) ScaledObjectsFor(string, string, string) ([]*ScaledObject, error) {
	return nil, ErrUnknown
}

func TestUnknownClusterNeverDenies(t *testing.T) {
	s := Defaults()
	got := EvaluateWorkload(WorkloadReview{Object: deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}}), Cluster: unknownCluster{}}, &s)
	if got.Denied() {
		t.Errorf("a missing request was denied while LimitRanges were unknown: %v", got)
	}
	if len(got) == 0 || !strings.Contains(got[0].Message, "LimitRanges are unknown") {
		t.Errorf("want a warning saying LimitRanges are unknown, got %v", got)
	}
	r := EvaluateHPA(HPAReview{Object: hpa(), Cluster: unknownCluster{}}, &s)
	if r.Findings.Denied() {
		t.Errorf("denied on an unknown cluster: %v", r.Findings)
	}
	if len(r.Findings) == 0 {
		t.Error("no finding: the cross-object rules must say they were not checked")
	}
	for _, f := range r.Findings {
		if !f.Unchecked {
			t.Errorf("unexpected finding %v", f)
		}
	}
}

func (unknownCluster) TargetNotFound(kind, namespace, name string) string {
	return TargetNotFoundInCluster(kind, namespace, name)
}
