package policies

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// scaledObject decodes a ScaledObject of namespace shop named web from its
// spec, written as YAML.
func scaledObject(t *testing.T, spec string) *ScaledObject {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web, namespace: shop}\nspec:\n" + spec))
	if err != nil {
		t.Fatal(err)
	}
	so, err := DecodeScaledObject(js)
	if err != nil {
		t.Fatal(err)
	}
	return so
}

const (
	soTarget       = "  scaleTargetRef: {name: web}\n"
	cpuTrigger     = "  - {type: cpu, metricType: Utilization, metadata: {value: '70'}}\n"
	standardBehave = `  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Percent, value: 100, periodSeconds: 30}, {type: Pods, value: 2, periodSeconds: 30}]}
        scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max, policies: [{type: Percent, value: 50, periodSeconds: 60}]}
`
)

// TestScaledObjectModel: what KEDA v2.20.2 builds its HPA from, read out
// of GetHPAMinReplicas, GetHPAMaxReplicas (scaledobject_types.go),
// getHPAName (controllers/keda/hpa.go), ParseGVKR (gvkr.go) and
// cpuMemoryScaler.GetMetricSpecForScaling (pkg/scalers/cpu_memory_scaler.go).
func TestScaledObjectModel(t *testing.T) {
	for name, tc := range map[string]struct {
		spec               string
		kind               string
		hpaName            string
		hpaMin, hpaMax     int32
		minReplicaCount    int32
		metrics            []autoscalingv2.MetricSourceType
		container          string
		resourceTriggerIdx []int
	}{
		"defaults": {spec: soTarget + "  triggers:\n" + cpuTrigger,
			kind: "Deployment", hpaName: "keda-hpa-web", hpaMin: 1, hpaMax: 100, minReplicaCount: 0,
			metrics: []autoscalingv2.MetricSourceType{autoscalingv2.ResourceMetricSourceType}, resourceTriggerIdx: []int{0}},
		"minReplicaCount 0 is HPA minReplicas 1": {spec: soTarget + "  minReplicaCount: 0\n  maxReplicaCount: 5\n  triggers:\n" + cpuTrigger,
			kind: "Deployment", hpaName: "keda-hpa-web", hpaMin: 1, hpaMax: 5, minReplicaCount: 0,
			metrics: []autoscalingv2.MetricSourceType{autoscalingv2.ResourceMetricSourceType}, resourceTriggerIdx: []int{0}},
		"named HPA, StatefulSet, bounds": {spec: "  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}\n  minReplicaCount: 3\n  maxReplicaCount: 7\n" +
			"  advanced: {horizontalPodAutoscalerConfig: {name: web-hpa}}\n  triggers:\n" + cpuTrigger,
			kind: "StatefulSet", hpaName: "web-hpa", hpaMin: 3, hpaMax: 7, minReplicaCount: 3,
			metrics: []autoscalingv2.MetricSourceType{autoscalingv2.ResourceMetricSourceType}, resourceTriggerIdx: []int{0}},
		"containerName makes a ContainerResource metric; other triggers none": {spec: soTarget + "  triggers:\n" +
			"  - {type: kafka, metadata: {topic: orders}}\n  - {type: memory, metricType: AverageValue, metadata: {value: 1Gi, containerName: app}}\n",
			kind: "Deployment", hpaName: "keda-hpa-web", hpaMin: 1, hpaMax: 100,
			metrics: []autoscalingv2.MetricSourceType{autoscalingv2.ContainerResourceMetricSourceType}, container: "app", resourceTriggerIdx: []int{1}},
		"event triggers only": {spec: soTarget + "  triggers:\n  - {type: prometheus, metadata: {threshold: '5'}}\n",
			kind: "Deployment", hpaName: "keda-hpa-web", hpaMin: 1, hpaMax: 100},
	} {
		t.Run(name, func(t *testing.T) {
			so := scaledObject(t, tc.spec)
			kind, target, ok := so.Target()
			if !ok || kind != tc.kind || target != "web" {
				t.Errorf("target %s/%s (%v), want %s/web", kind, target, ok, tc.kind)
			}
			hpa := so.HPA()
			if hpa.Name != tc.hpaName || so.HPAName() != tc.hpaName {
				t.Errorf("HPA name %q, want %q", hpa.Name, tc.hpaName)
			}
			if *hpa.Spec.MinReplicas != tc.hpaMin || hpa.Spec.MaxReplicas != tc.hpaMax || so.MinReplicaCount() != tc.minReplicaCount {
				t.Errorf("bounds %d..%d (minReplicaCount %d), want %d..%d (%d)", *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, so.MinReplicaCount(), tc.hpaMin, tc.hpaMax, tc.minReplicaCount)
			}
			var types []autoscalingv2.MetricSourceType
			for _, m := range hpa.Spec.Metrics {
				types = append(types, m.Type)
				if m.ContainerResource != nil && m.ContainerResource.Container != tc.container {
					t.Errorf("container %q, want %q", m.ContainerResource.Container, tc.container)
				}
			}
			if strings.Join(metricTypes(types), ",") != strings.Join(metricTypes(tc.metrics), ",") {
				t.Errorf("metrics %v, want %v", types, tc.metrics)
			}
			var idx []int
			for _, rt := range so.resourceTriggers() {
				idx = append(idx, rt.index)
			}
			if len(idx) != len(tc.resourceTriggerIdx) || (len(idx) > 0 && idx[0] != tc.resourceTriggerIdx[0]) {
				t.Errorf("resource triggers %v, want %v", idx, tc.resourceTriggerIdx)
			}
			if !so.OwnsHPA(hpa) || hpa.Spec.ScaleTargetRef.Kind != tc.kind || hpa.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
				t.Errorf("the HPA KEDA builds: %+v", hpa.ObjectMeta.OwnerReferences)
			}
		})
	}
}

func metricTypes(ts []autoscalingv2.MetricSourceType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func TestDecodeScaledObjectNamesTheBadField(t *testing.T) {
	_, err := DecodeScaledObject([]byte(`{"spec":{"minReplicaCount":"two"}}`))
	if err == nil || !strings.Contains(err.Error(), "minReplicaCount") {
		t.Errorf("got %v, want an error naming minReplicaCount", err)
	}
}

// TestEvaluateScaledObject: the standard where KEDA builds the HPA from.
func TestEvaluateScaledObject(t *testing.T) {
	webWith := func(c corev1.Container) Workload {
		w := deployment(corev1.PodSpec{Containers: []corev1.Container{c}})
		return w
	}
	withRequests := webWith(container("app", res("cpu", "500m", "memory", "1Gi"), nil))
	noCPU := webWith(container("app", res("memory", "1Gi"), nil))
	podLevel := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)},
		Resources: &corev1.ResourceRequirements{Requests: res("cpu", "1", "memory", "1Gi")}})
	owned := func(name string) *autoscalingv2.HorizontalPodAutoscaler {
		h := hpa()
		h.Name = "keda-hpa-" + name
		h.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: name, Controller: ptr.To(true)}}
		return h
	}
	compliant := soTarget + "  minReplicaCount: 2\n  maxReplicaCount: 10\n" + standardBehave + "  triggers:\n" + cpuTrigger
	for name, tc := range map[string]struct {
		spec        string
		annotations map[string]string
		settings    func(*Settings)
		target      *Workload
		hpas        []*autoscalingv2.HorizontalPodAutoscaler
		others      []string // specs of other ScaledObjects, named other-<i>
		want        []string // "rule action path"
		mention     string
	}{
		"compliant":                    {spec: compliant, target: &withRequests},
		"compliant beside its own HPA": {spec: compliant, target: &withRequests, hpas: []*autoscalingv2.HorizontalPodAutoscaler{owned("web")}},
		// minReplicaCount 1 with a cpu trigger: KEDA's HPA keeps one pod.
		"min-replicas warns by default (mutate; never mutated)": {spec: soTarget + "  minReplicaCount: 1\n" + standardBehave + "  triggers:\n" + cpuTrigger, target: &withRequests,
			want: []string{"min-replicas warn spec.minReplicaCount"}, mention: "set spec.minReplicaCount: 2"},
		"min-replicas unset is 0": {spec: soTarget + standardBehave + "  triggers:\n" + cpuTrigger,
			want: []string{"min-replicas warn spec.minReplicaCount"}, mention: "minReplicaCount is 0"},
		"min-replicas deny": {spec: soTarget + "  minReplicaCount: 1\n" + standardBehave + "  triggers:\n" + cpuTrigger,
			settings: func(s *Settings) { s.Rules.MinReplicas.Action = Deny },
			want:     []string{"min-replicas deny spec.minReplicaCount"}},
		"maxReplicaCount below the minimum": {spec: soTarget + "  minReplicaCount: 1\n  maxReplicaCount: 1\n" + standardBehave + "  triggers:\n" + cpuTrigger,
			want: []string{"min-replicas deny spec.maxReplicaCount", "behavior-consistency warn spec.maxReplicaCount"}},
		"scale to zero on event triggers is KEDA's": {spec: soTarget + "  minReplicaCount: 0\n" + standardBehave + "  triggers:\n  - {type: kafka, metadata: {topic: orders}}\n"},
		"no behavior": {spec: soTarget + "  minReplicaCount: 2\n  triggers:\n" + cpuTrigger,
			want: []string{"behavior-defaults warn spec.advanced.horizontalPodAutoscalerConfig.behavior"}, mention: "add spec.advanced.horizontalPodAutoscalerConfig.behavior"},
		"scale-down disabled": {spec: soTarget + "  minReplicaCount: 2\n  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {selectPolicy: Disabled}}}}\n  triggers:\n" + cpuTrigger,
			want: []string{"behavior-defaults warn spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp",
				"behavior-consistency deny spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy"},
			mention: "the HPA KEDA builds from this ScaledObject can never scale down"},
		"target lacks the cpu request": {spec: compliant, target: &noCPU,
			want: []string{"target-requests deny spec.triggers[0]"}, mention: `ScaledObject "web" measures cpu utilization, but container "app" of Deployment "web" requests no cpu`},
		"AverageValue needs no request": {spec: soTarget + "  minReplicaCount: 2\n" + standardBehave + "  triggers:\n  - {type: cpu, metricType: AverageValue, metadata: {value: 500m}}\n", target: &noCPU},
		"pod-level requests do not count for a named container": {spec: soTarget + "  minReplicaCount: 2\n" + standardBehave +
			"  triggers:\n  - {type: kafka, metadata: {topic: orders}}\n  - {type: cpu, metricType: Utilization, metadata: {value: '70', containerName: app}}\n", target: &podLevel,
			want: []string{"target-requests deny spec.triggers[1]"}, mention: "pod-level requests do not count"},
		"pod-level requests count for the pod": {spec: compliant, target: &podLevel},
		"containerName the target does not have": {spec: soTarget + "  minReplicaCount: 2\n" + standardBehave +
			"  triggers:\n  - {type: memory, metricType: Utilization, metadata: {value: '80', containerName: sidecar}}\n", target: &withRequests,
			want: []string{"target-requests deny spec.triggers[0].metadata.containerName"}},
		"an HPA already scales the target": {spec: compliant, target: &withRequests, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()},
			want: []string{"duplicate-hpa deny spec.scaleTargetRef"}, mention: `HPA "web" already scales Deployment "web"`},
		"another ScaledObject's HPA": {spec: compliant, target: &withRequests, hpas: []*autoscalingv2.HorizontalPodAutoscaler{owned("other")},
			want: []string{"duplicate-hpa deny spec.scaleTargetRef"}},
		"KEDA adopts the HPA named": {spec: soTarget + "  minReplicaCount: 2\n  advanced:\n    horizontalPodAutoscalerConfig:\n      name: web\n" + strings.TrimPrefix(standardBehave, "  advanced:\n    horizontalPodAutoscalerConfig:\n") + "  triggers:\n" + cpuTrigger,
			annotations: map[string]string{"scaledobject.keda.sh/transfer-hpa-ownership": "true"},
			target:      &withRequests, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()}},
		"another ScaledObject scales the target": {spec: compliant, target: &withRequests, others: []string{compliant},
			want: []string{"duplicate-hpa deny spec.scaleTargetRef"}, mention: `ScaledObject "other-0" already scales`},
		"exempt": {spec: soTarget + "  minReplicaCount: 1\n" + standardBehave + "  triggers:\n" + cpuTrigger, target: &noCPU,
			annotations: map[string]string{AnnotationExempt: "min-replicas,target-requests", AnnotationExemptReason: "batch"}},
		"rules off": {spec: soTarget + "  minReplicaCount: 1\n  triggers:\n" + cpuTrigger, target: &noCPU, hpas: []*autoscalingv2.HorizontalPodAutoscaler{hpa()},
			settings: func(s *Settings) {
				for _, id := range []string{MinReplicas, BehaviorDefaults, BehaviorConsistency, TargetRequests, DuplicateHPA} {
					setAction(s, id, Off)
				}
			}},
	} {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			if tc.settings != nil {
				tc.settings(&s)
			}
			so := scaledObject(t, tc.spec)
			so.Annotations = tc.annotations
			c := NewStaticCluster()
			if tc.target != nil {
				c.AddWorkload(*tc.target)
			}
			for _, h := range tc.hpas {
				c.AddHPA(h)
			}
			c.AddScaledObject(so)
			for i, spec := range tc.others {
				o := scaledObject(t, spec)
				o.Name = "other-" + string(rune('0'+i))
				c.AddScaledObject(o)
			}
			got := EvaluateScaledObject(ScaledObjectReview{Object: so, Cluster: c}, &s)
			var keys []string
			for _, f := range got {
				keys = append(keys, f.Rule+" "+string(f.Action)+" "+f.Path.String())
			}
			if strings.Join(keys, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings\n%s\nwant\n%s\n(%v)", strings.Join(keys, "\n"), strings.Join(tc.want, "\n"), got)
			}
			if tc.mention != "" && !strings.Contains(got.Strings(), tc.mention) {
				t.Errorf("no finding says %q: %v", tc.mention, got)
			}
			// Offline, with nothing known of the cluster, the rules on the
			// object alone still apply.
			alone := EvaluateScaledObject(ScaledObjectReview{Object: so}, &s)
			for _, f := range alone {
				if f.Rule == TargetRequests || f.Rule == DuplicateHPA {
					t.Errorf("without a cluster: %v", f)
				}
			}
		})
	}
}

// TestScaledObjectExistingViolation: an update that keeps a denial the
// stored object had is warned about, not refused.
func TestScaledObjectExistingViolation(t *testing.T) {
	s := Defaults()
	disabled := soTarget + "  minReplicaCount: 2\n  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleDown: {selectPolicy: Disabled}}}}\n  triggers:\n" + cpuTrigger
	so, old := scaledObject(t, disabled), scaledObject(t, disabled)
	got := EvaluateScaledObject(ScaledObjectReview{Object: so, Old: old}, &s)
	if got.Denied() || !strings.Contains(got.Strings(), "allowExistingViolations") {
		t.Errorf("got %v", got)
	}
}

// TestHPABesideScaledObject: duplicate-hpa from the HPA's side, and the
// notes on the HPA KEDA owns pointing at the ScaledObject's fields.
func TestHPABesideScaledObject(t *testing.T) {
	s := Defaults()
	c := clusterWith([]Workload{web()})
	so := scaledObject(t, soTarget+"  minReplicaCount: 2\n"+standardBehave+"  triggers:\n"+cpuTrigger)
	c.AddScaledObject(so)

	got := EvaluateHPA(HPAReview{Object: hpa(), Final: true, Cluster: c}, &s).Findings
	if f := findingsOf(got, DuplicateHPA); len(f) != 1 || f[0].Action != Deny || !strings.Contains(f[0].Message, `ScaledObject "web" already scales Deployment "web" (KEDA builds HPA "keda-hpa-web" from it)`) {
		t.Errorf("an HPA beside a ScaledObject: %v", got)
	}
	own := so.HPA()
	own.Spec.MinReplicas = ptr.To[int32](1)
	own.Spec.Behavior = nil
	got = EvaluateHPA(HPAReview{Object: own, Final: true, Cluster: c}, &s).Findings
	if f := findingsOf(got, DuplicateHPA); len(f) != 0 {
		t.Errorf("KEDA's own HPA is a duplicate: %v", f)
	}
	for rule, field := range map[string]string{MinReplicas: "set spec.minReplicaCount there", BehaviorDefaults: "set spec.advanced.horizontalPodAutoscalerConfig.behavior there"} {
		if f := findingsOf(got, rule); len(f) != 1 || f[0].Action != Warn || !strings.Contains(f[0].Message, field) {
			t.Errorf("%s on KEDA's HPA: %v", rule, f)
		}
	}
}

// Strings joins the findings' short forms, for tests.
func (fs Findings) Strings() string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func setAction(s *Settings, id string, a Action) {
	r := &s.Rules
	switch id {
	case MinReplicas:
		r.MinReplicas.Action = a
	case BehaviorDefaults:
		r.BehaviorDefaults.Action = a
	case BehaviorConsistency:
		r.BehaviorConsistency.Action = a
	case TargetRequests:
		r.TargetRequests.Action = a
	case DuplicateHPA:
		r.DuplicateHPA.Action = a
	}
}
