package policies

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// hpa builds an HPA as a user might write it; options edit it.
func hpa(opts ...func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: KindHPA},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				utilizationMetric(corev1.ResourceCPU, 70),
				utilizationMetric(corev1.ResourceMemory, 80),
			},
		},
	}
	b := StandardBehavior()
	h.Spec.Behavior = &b
	for _, o := range opts {
		o(h)
	}
	return h
}

func withMin(n *int32) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = n }
}

func withMax(n int32) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = n }
}

func withMetrics(ms ...autoscalingv2.MetricSpec) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics = ms }
}

func withBehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Behavior = b }
}

// apiServerDefaulted is what the webhook receives for h.
func apiServerDefaulted(h *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	h = h.DeepCopy()
	ApplyAPIServerDefaults(h)
	return h
}

func TestHPARules(t *testing.T) {
	kubeUp, kubeDown := *scaling.KubernetesScaleUpRules(), *scaling.KubernetesScaleDownRules()
	userDown := autoscalingv2.HPAScalingRules{
		SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
	}
	containerMemory := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](75)}}}
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
		External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType}}}

	tests := map[string]struct {
		in        *autoscalingv2.HorizontalPodAutoscaler
		writtenAs string
		want      []string // "action rule path"
		check     func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler)
	}{
		"standard HPA is left alone": {in: hpa()},
		"minReplicas absent is raised": {
			in:   hpa(withMin(nil)),
			want: []string{"mutate min-replicas spec.minReplicas"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if *out.Spec.MinReplicas != 2 {
					t.Errorf("minReplicas = %d, want 2", *out.Spec.MinReplicas)
				}
			},
		},
		"minReplicas 1 from the API server's default is raised": {
			in:   apiServerDefaulted(hpa(withMin(nil))),
			want: []string{"mutate min-replicas spec.minReplicas"},
		},
		"minReplicas above the minimum is kept": {
			in: hpa(withMin(ptr.To[int32](5))),
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if *out.Spec.MinReplicas != 5 {
					t.Errorf("minReplicas = %d, want 5", *out.Spec.MinReplicas)
				}
			},
		},
		"maxReplicas below the minimum is refused": {
			in:   hpa(withMin(ptr.To[int32](1)), withMax(1)),
			want: []string{"deny min-replicas spec.maxReplicas", "warn behavior-consistency spec.maxReplicas"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if *out.Spec.MinReplicas != 1 {
					t.Errorf("minReplicas changed to %d; raising it above maxReplicas makes an invalid object", *out.Spec.MinReplicas)
				}
			},
		},
		"no memory metric gets one appended": {
			in:   hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 70))),
			want: []string{"mutate memory-target spec.metrics"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				want := []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, 70), utilizationMetric(corev1.ResourceMemory, 80)}
				if !apiequality.Semantic.DeepEqual(out.Spec.Metrics, want) {
					t.Errorf("metrics = %+v", out.Spec.Metrics)
				}
			},
		},
		"no metrics at all: the API server's cpu 80 plus memory": {
			in:   hpa(withMetrics()),
			want: []string{"mutate memory-target spec.metrics"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				want := []autoscalingv2.MetricSpec{utilizationMetric(corev1.ResourceCPU, 80), utilizationMetric(corev1.ResourceMemory, 80)}
				if !apiequality.Semantic.DeepEqual(out.Spec.Metrics, want) {
					t.Errorf("metrics = %+v", out.Spec.Metrics)
				}
			},
		},
		"ContainerResource memory counts": {in: hpa(withMetrics(utilizationMetric(corev1.ResourceCPU, 70), containerMemory))},
		"external-only HPA also gets memory": {
			in:   hpa(withMetrics(external)),
			want: []string{"mutate memory-target spec.metrics"},
		},
		"no behavior gets the standard": {
			in:   hpa(withBehavior(nil)),
			want: []string{"mutate behavior-defaults spec.behavior"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if want := StandardBehavior(); !apiequality.Semantic.DeepEqual(*out.Spec.Behavior, want) {
					t.Errorf("behavior = %+v", out.Spec.Behavior)
				}
			},
		},
		"both directions at Kubernetes defaults count as unset": {
			in:   hpa(withBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &kubeUp, ScaleDown: &kubeDown})),
			want: []string{"mutate behavior-defaults spec.behavior"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if want := StandardBehavior(); !apiequality.Semantic.DeepEqual(*out.Spec.Behavior, want) {
					t.Errorf("behavior = %+v", out.Spec.Behavior)
				}
			},
		},
		"a user's scaleDown is kept, its nil window written out, scaleUp replaced": {
			in:   apiServerDefaulted(hpa(withBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: userDown.DeepCopy()}))),
			want: []string{"mutate behavior-defaults spec.behavior.scaleUp"},
			check: func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				b := out.Spec.Behavior
				if !apiequality.Semantic.DeepEqual(b.ScaleDown.Policies, userDown.Policies) {
					t.Errorf("user's scaleDown policies changed: %+v", b.ScaleDown.Policies)
				}
				if w := b.ScaleDown.StabilizationWindowSeconds; w == nil || *w != 300 {
					t.Errorf("scaleDown window = %v, want 300", w)
				}
				if !apiequality.Semantic.DeepEqual(*b.ScaleUp, *StandardBehavior().ScaleUp) {
					t.Errorf("scaleUp = %+v, want the standard's", b.ScaleUp)
				}
			},
		},
		"only a nil scale-down window is filled": {
			in: hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = nil
				h.Spec.Behavior.ScaleDown.Policies[0].Value = 20
			}),
			want: []string{"mutate behavior-defaults spec.behavior.scaleDown.stabilizationWindowSeconds"},
		},
		"v1 request is refused with the v2 form": {
			in:        hpa(),
			writtenAs: "autoscaling/v1",
			want:      []string{"deny hpa-api-version apiVersion"},
		},
	}
	s := Defaults()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.in.DeepCopy()
			r := EvaluateHPA(HPAReview{Object: tc.in, WrittenAs: tc.writtenAs}, &s)
			if !apiequality.Semantic.DeepEqual(before, tc.in) {
				t.Fatal("EvaluateHPA modified its input")
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Action)+" "+f.Rule+" "+f.Path.String())
				if f.Message == "" {
					t.Errorf("%s has no message", f.Rule)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %v, want %v\n%v", got, tc.want, r.Findings)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("finding %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
			if r.Mutated != (len(r.Findings.With(Mutate)) > 0) {
				t.Errorf("Mutated = %v but findings %v", r.Mutated, r.Findings)
			}
			if tc.check != nil {
				tc.check(t, r.Object)
			}
			// A second pass over the result has nothing left to change.
			again := EvaluateHPA(HPAReview{Object: r.Object}, &s)
			if again.Mutated {
				t.Errorf("second pass mutated again: %v", again.Findings.With(Mutate))
			}
		})
	}
}

func TestHPAMutateRuleActions(t *testing.T) {
	in := hpa(withMin(nil), withBehavior(nil), withMetrics(utilizationMetric(corev1.ResourceCPU, 70)))
	tests := map[string]struct {
		action Action
		final  bool
		mode   Mode
		want   Action
	}{
		"mutate":                       {action: Mutate, want: Mutate},
		"mutate, final object":         {action: Mutate, final: true, want: Deny},
		"mutate, final, warn mode":     {action: Mutate, final: true, mode: WarnOnly, want: Warn},
		"deny instead of mutate":       {action: Deny, want: Deny},
		"warn instead of mutate":       {action: Warn, want: Warn},
		"warn instead of mutate final": {action: Warn, final: true, want: Warn},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.Rules.MinReplicas.Action = tc.action
			s.Rules.MemoryTarget.Action = tc.action
			s.Rules.BehaviorDefaults.Action = tc.action
			if tc.mode != "" {
				s.Mode = tc.mode
			}
			r := EvaluateHPA(HPAReview{Object: in, Final: tc.final}, &s)
			if len(r.Findings) != 3 {
				t.Fatalf("want 3 findings, got %v", r.Findings)
			}
			for _, f := range r.Findings {
				if f.Action != tc.want {
					t.Errorf("%s: action %s, want %s", f.Rule, f.Action, tc.want)
				}
			}
			if r.Mutated != (tc.want == Mutate) {
				t.Errorf("Mutated = %v", r.Mutated)
			}
		})
	}
}

func TestExemptions(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}}
	tests := map[string]struct {
		annotations map[string]string
		namespace   string
		disabled    bool
		want        []string
	}{
		"no annotation": {want: []string{"deny requests-required"}},
		"exempt with reason": {annotations: map[string]string{
			AnnotationExempt: "requests-required", AnnotationExemptReason: "vendor image"}},
		"exempt all with reason": {annotations: map[string]string{
			AnnotationExempt: "*", AnnotationExemptReason: "vendor image"}},
		"exempt without reason is ignored": {
			annotations: map[string]string{AnnotationExempt: "requests-required"},
			want:        []string{"deny requests-required", "warn exemption-reason"},
		},
		"unknown rule is reported, known one honoured": {
			annotations: map[string]string{AnnotationExempt: "requests-required, request-required", AnnotationExemptReason: "x"},
			want:        []string{"warn exemption-reason"},
		},
		"annotations turned off": {
			annotations: map[string]string{AnnotationExempt: "requests-required", AnnotationExemptReason: "x"},
			disabled:    true,
			want:        []string{"deny requests-required", "warn exemption-reason"},
		},
		"exempt namespace": {namespace: "kube-system"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.ExemptionAnnotations = !tc.disabled
			w := deployment(spec)
			w.Meta.Annotations = tc.annotations
			if tc.namespace != "" {
				w.Meta.Namespace = tc.namespace
			}
			got := EvaluateWorkload(WorkloadReview{Object: w}, &s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i, f := range got {
				if s := string(f.Action) + " " + f.Rule; s != tc.want[i] {
					t.Errorf("finding %d = %q, want %q", i, s, tc.want[i])
				}
			}
		})
	}
}

func TestAllowExistingViolations(t *testing.T) {
	bad := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}})
	good := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "1", "memory", "1Gi"), nil)}})
	worse := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil), container("new", nil, nil)}})
	tests := map[string]struct {
		obj, old Workload
		allow    bool
		want     []Action
	}{
		"create is refused":                          {obj: bad, allow: true, want: []Action{Deny}},
		"update of an old violator warns":            {obj: bad, old: bad, allow: true, want: []Action{Warn}},
		"update that breaks a compliant one denies":  {obj: bad, old: good, allow: true, want: []Action{Deny}},
		"a new violation in an old violator denies":  {obj: worse, old: bad, allow: true, want: []Action{Warn, Deny}},
		"setting off: update of old violator denies": {obj: bad, old: bad, allow: false, want: []Action{Deny}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.AllowExistingViolations = tc.allow
			r := WorkloadReview{Object: tc.obj}
			if tc.old.Kind != "" {
				r.Old = &tc.old
			}
			got := EvaluateWorkload(r, &s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i, f := range got {
				if f.Action != tc.want[i] {
					t.Errorf("finding %d: %s, want %s (%s)", i, f.Action, tc.want[i], f)
				}
			}
		})
	}
}

func TestWarnModeNeverDenies(t *testing.T) {
	s := Defaults()
	s.Mode = WarnOnly
	got := EvaluateWorkload(WorkloadReview{Object: deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}})}, &s)
	if len(got) != 1 || got[0].Action != Warn {
		t.Fatalf("got %v, want one warning", got)
	}
	r := EvaluateHPA(HPAReview{Object: hpa(), WrittenAs: "autoscaling/v1"}, &s)
	if r.Findings.Denied() {
		t.Fatalf("warn mode denied: %v", r.Findings)
	}
}
