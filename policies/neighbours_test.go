package policies

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// neighbourCluster holds the target "web" of hpa() with spec, and objs.
func neighbourCluster(spec corev1.PodSpec, objs ...any) *StaticCluster {
	c := NewStaticCluster()
	w := deployment(spec)
	w.Template.Labels = map[string]string{"app": "web"}
	c.AddWorkload(w)
	for _, o := range objs {
		switch o := o.(type) {
		case corev1.ResourceQuota:
			o.Namespace = "shop"
			c.AddResourceQuota(o)
		case policyv1.PodDisruptionBudget:
			o.Namespace = "shop"
			c.AddPodDisruptionBudget(o)
		case corev1.LimitRange:
			o.Namespace = "shop"
			c.AddLimitRange(o)
		}
	}
	return c
}

// only returns the findings of rule, as the configured action leaves them.
func only(rule string, h *autoscalingv2.HorizontalPodAutoscaler, c Cluster) Findings {
	s := Defaults()
	var out Findings
	for _, f := range EvaluateHPA(HPAReview{Object: h, Final: true, Cluster: c}, &s).Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func quota(name string, hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) corev1.ResourceQuota {
	return corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
}

// The cases are read from the quota admission plugin's pod evaluator
// (pkg/quota/v1/evaluator/core/pods.go: PodUsageFunc, podComputeUsageHelper,
// podMatchesScopeFunc) and k8s.io/component-helpers' PodRequests.
func TestQuotaCeiling(t *testing.T) {
	app := container("app", res("cpu", "100m", "memory", "128Mi"), nil)
	tests := map[string]struct {
		spec corev1.PodSpec
		max  int32
		objs []any
		// want is the pod count the warning names; 0 for no warning.
		want string
	}{
		"requests.cpu holds maxReplicas": {corev1.PodSpec{Containers: []corev1.Container{app}}, 10,
			[]any{quota("compute", res("requests.cpu", "1"))}, ""},
		"requests.cpu holds 10 of 11": {corev1.PodSpec{Containers: []corev1.Container{app}}, 11,
			[]any{quota("compute", res("requests.cpu", "1"))}, "at most 10 pods"},
		"cpu is requests.cpu": {corev1.PodSpec{Containers: []corev1.Container{app}}, 11,
			[]any{quota("compute", res("cpu", "1"))}, "at most 10 pods"},
		"limits are not requests": {corev1.PodSpec{Containers: []corev1.Container{app}}, 11,
			[]any{quota("compute", res("limits.cpu", "1"))}, ""},
		"a pod count": {corev1.PodSpec{Containers: []corev1.Container{app}}, 10,
			[]any{quota("count", res("pods", "5"))}, "at most 5 pods"},
		"a limit without a request is the request": {corev1.PodSpec{Containers: []corev1.Container{container("app", nil, res("cpu", "250m"))}}, 10,
			[]any{quota("compute", res("requests.cpu", "1"))}, "at most 4 pods"},
		"a LimitRange's defaultRequest fills a missing request": {corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "100m"), nil)}}, 10,
			[]any{quota("mem", res("requests.memory", "1Gi")), corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, DefaultRequest: res("memory", "256Mi")}}}}}, "at most 4 pods"},
		"sidecars add up": {corev1.PodSpec{Containers: []corev1.Container{app}, InitContainers: []corev1.Container{sidecar(container("proxy", res("cpu", "100m"), nil))}}, 6,
			[]any{quota("compute", res("requests.cpu", "1"))}, "at most 5 pods"},
		"an init container counts by its maximum": {corev1.PodSpec{Containers: []corev1.Container{app}, InitContainers: []corev1.Container{container("migrate", res("cpu", "2"), nil)}}, 3,
			[]any{quota("compute", res("requests.cpu", "4"))}, "at most 2 pods"},
		"pod-level requests replace the containers'": {corev1.PodSpec{Containers: []corev1.Container{app}, Resources: &corev1.ResourceRequirements{Requests: res("cpu", "1")}}, 3,
			[]any{quota("compute", res("requests.cpu", "2"))}, "at most 2 pods"},
		"the overhead is charged": {corev1.PodSpec{Containers: []corev1.Container{app}, Overhead: res("cpu", "150m")}, 5,
			[]any{quota("compute", res("requests.cpu", "1"))}, "at most 4 pods"},
		"the tightest quota is named": {corev1.PodSpec{Containers: []corev1.Container{app}}, 20,
			[]any{quota("a-compute", res("requests.cpu", "1")), quota("b-count", res("pods", "3"))}, `"b-count" caps pods at 3`},
		"a BestEffort quota does not charge a pod with requests": {corev1.PodSpec{Containers: []corev1.Container{app}}, 10,
			[]any{quota("be", res("pods", "1"), corev1.ResourceQuotaScopeBestEffort)}, ""},
		"a NotBestEffort quota does": {corev1.PodSpec{Containers: []corev1.Container{app}}, 10,
			[]any{quota("nbe", res("pods", "1"), corev1.ResourceQuotaScopeNotBestEffort)}, "at most 1 pods"},
		"a Terminating quota does not charge a pod without a deadline": {corev1.PodSpec{Containers: []corev1.Container{app}}, 10,
			[]any{quota("t", res("pods", "1"), corev1.ResourceQuotaScopeTerminating)}, ""},
		"a priority class selector": {corev1.PodSpec{Containers: []corev1.Container{app}, PriorityClassName: "high"}, 10,
			[]any{corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Spec: corev1.ResourceQuotaSpec{Hard: res("pods", "2"),
				ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}}}}, "at most 2 pods"},
		"another priority class": {corev1.PodSpec{Containers: []corev1.Container{app}, PriorityClassName: "low"}, 10,
			[]any{corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Spec: corev1.ResourceQuotaSpec{Hard: res("pods", "2"),
				ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}}}}, ""},
		"no quota": {corev1.PodSpec{Containers: []corev1.Container{app}}, 100, nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = tc.max })
			got := only(QuotaCeiling, h, neighbourCluster(tc.spec, tc.objs...))
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("want no finding, got %v", got)
			case tc.want != "" && (len(got) != 1 || got[0].Action != Warn || got[0].Path.String() != "spec.maxReplicas" || !strings.Contains(got[0].Message, tc.want)):
				t.Errorf("want one warning on %s saying %q, got %v", pathMaxReplicas, tc.want, got)
			}
		})
	}
}

func pdb(selector *metav1.LabelSelector, minAvailable, maxUnavailable *intstr.IntOrString) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector, MinAvailable: minAvailable, MaxUnavailable: maxUnavailable}}
}

// The cases are read from the disruption controller
// (pkg/controller/disruption/disruption.go: getExpectedPodCount,
// updatePdbStatus, getPodsForPdb) with every pod healthy.
func TestDrainAtMinimum(t *testing.T) {
	web := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	n := func(i int) *intstr.IntOrString { return ptr.To(intstr.FromInt32(int32(i))) }
	pct := func(s string) *intstr.IntOrString { return ptr.To(intstr.FromString(s)) }
	tests := map[string]struct {
		min     *int32
		budget  policyv1.PodDisruptionBudget
		blocked bool
	}{
		"minAvailable equal to minReplicas":    {ptr.To[int32](2), pdb(web, n(2), nil), true},
		"minAvailable above minReplicas":       {ptr.To[int32](2), pdb(web, n(3), nil), true},
		"minAvailable below minReplicas":       {ptr.To[int32](2), pdb(web, n(1), nil), false},
		"minAvailable 1 of the default 1":      {nil, pdb(web, n(1), nil), true},
		"50% of 2 rounds up to 1":              {ptr.To[int32](2), pdb(web, pct("50%"), nil), false},
		"50% of 1 rounds up to 1":              {ptr.To[int32](1), pdb(web, pct("50%"), nil), true},
		"100% of 5":                            {ptr.To[int32](5), pdb(web, pct("100%"), nil), true},
		"maxUnavailable 0":                     {ptr.To[int32](3), pdb(web, nil, n(0)), true},
		"maxUnavailable 0%":                    {ptr.To[int32](3), pdb(web, nil, pct("0%")), true},
		"maxUnavailable 1 of 1":                {ptr.To[int32](1), pdb(web, nil, n(1)), false},
		"maxUnavailable 10% of 2 rounds up":    {ptr.To[int32](2), pdb(web, nil, pct("10%")), false},
		"another workload's pods":              {ptr.To[int32](2), pdb(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, n(2), nil), false},
		"a nil selector selects nothing":       {ptr.To[int32](2), pdb(nil, n(2), nil), false},
		"an empty selector selects every pod":  {ptr.To[int32](2), pdb(&metav1.LabelSelector{}, n(2), nil), true},
		"a budget with neither allows all":     {ptr.To[int32](2), pdb(web, nil, nil), false},
		"an expression selecting the template": {ptr.To[int32](2), pdb(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}, n(2), nil), true},
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "100m", "memory", "128Mi"), nil)}}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = tc.min })
			got := only(DrainAtMinimum, h, neighbourCluster(spec, tc.budget))
			if tc.blocked != (len(got) == 1) || len(got) > 1 {
				t.Fatalf("blocked=%v, got %v", tc.blocked, got)
			}
			if tc.blocked && (got[0].Action != Warn || got[0].Path.String() != "spec.minReplicas" || !strings.Contains(got[0].Message, `PodDisruptionBudget "web"`)) {
				t.Errorf("want a warning on %s naming the budget, got %v", pathMinReplicas, got[0])
			}
		})
	}
}

// labelled is a Deployment of one container whose selector and pod labels
// are given.
func labelled(name string, selector *metav1.LabelSelector, podLabels map[string]string) Workload {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: selector, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "100m", "memory", "128Mi"), nil)}}}},
	}
	w, _ := WorkloadOf(d)
	return w
}

func matchLabels(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func hpaOn(name, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Name = name
		h.Spec.ScaleTargetRef.Name = target
	})
}

// The cases are read from the HPA controller's validateAndParseSelector
// (pkg/controller/podautoscaler/horizontal.go) and the replica calculator's
// pod listing: every pod of the namespace the scale selector matches is
// counted, and pods matched by two HPAs' selectors stop both.
func TestSelectorOverlap(t *testing.T) {
	web := labelled("web", matchLabels("app", "web"), map[string]string{"app": "web"})
	tests := map[string]struct {
		workloads []Workload
		hpas      []*autoscalingv2.HorizontalPodAutoscaler
		// want are the fragments of each finding, in order, and its action
		// under deny.
		want []string
		deny []bool
	}{
		"alone": {[]Workload{web, labelled("api", matchLabels("app", "api"), map[string]string{"app": "api"})}, nil, nil, nil},
		"a canary's pods are counted": {
			[]Workload{web, labelled("web-canary", matchLabels("app", "web", "track", "canary"), map[string]string{"app": "web", "track": "canary"})}, nil,
			[]string{`also matches the pods of Deployment "web-canary"`}, []bool{false}},
		"a selector by expression": {
			[]Workload{labelled("web", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "shop"}}}}, map[string]string{"app": "web"}),
				labelled("shop", matchLabels("app", "shop"), map[string]string{"app": "shop"})}, nil,
			[]string{`(app in (shop,web)) also matches the pods of Deployment "shop"`}, []bool{false}},
		"the canary has its own HPA": {
			[]Workload{web, labelled("web-canary", matchLabels("app", "web", "track", "canary"), map[string]string{"app": "web", "track": "canary"})},
			[]*autoscalingv2.HorizontalPodAutoscaler{hpaOn("web-canary", "web-canary")},
			[]string{`also matches the pods of Deployment "web-canary"`, `HPA "web-canary", scaling Deployment "web-canary" (selector app=web,track=canary), also counts the pods of Deployment "web-canary"`}, []bool{false, true}},
		"another HPA's broad selector counts this target's pods": {
			[]Workload{labelled("web", matchLabels("app", "web"), map[string]string{"app": "web", "tier": "front"}), labelled("front", matchLabels("tier", "front"), map[string]string{"tier": "front"})},
			[]*autoscalingv2.HorizontalPodAutoscaler{hpaOn("front", "front")},
			[]string{`HPA "front", scaling Deployment "front" (selector tier=front), also counts the pods of Deployment "web"`}, []bool{true}},
		"a second HPA on the same target is duplicate-hpa's": {
			[]Workload{web}, []*autoscalingv2.HorizontalPodAutoscaler{hpaOn("web-2", "web")}, nil, nil},
		"an HPA on a missing target": {
			[]Workload{web}, []*autoscalingv2.HorizontalPodAutoscaler{hpaOn("ghost", "ghost")}, nil, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := NewStaticCluster()
			for _, w := range tc.workloads {
				c.AddWorkload(w)
			}
			for _, h := range tc.hpas {
				c.AddHPA(h)
			}
			s := Defaults()
			s.Rules.SelectorOverlap.Action = Deny
			s.Rules.DuplicateHPA.Action = Off
			var got Findings
			for _, f := range EvaluateHPA(HPAReview{Object: hpaOn("web", "web"), Final: true, Cluster: c}, &s).Findings {
				if f.Rule == SelectorOverlap {
					got = append(got, f)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("want %d findings, got %v", len(tc.want), got)
			}
			for i, f := range got {
				if !strings.Contains(f.Message, tc.want[i]) || (f.Action == Deny) != tc.deny[i] || f.Path.String() != "spec.scaleTargetRef" {
					t.Errorf("finding %d: want %q (denied %v) on %s, got %v", i, tc.want[i], tc.deny[i], pathScaleTargetRef, f)
				}
			}
		})
	}
}
