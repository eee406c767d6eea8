package cluster

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

func quantities(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// fullDeployment carries everything a stored Deployment does that no rule
// reads, around the fields the rules do read.
func fullDeployment(requests, limits corev1.ResourceList, sidecar corev1.ResourceList) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "42", Generation: 7,
			Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": `{"a":"very long document"}`,
				policies.AnnotationExempt:                          "cost-ceiling",
				policies.AnnotationExemptReason:                    "OPS-1",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{
						{Name: "migrate", Image: "example.com/migrate:1"},
						{Name: "proxy", Image: "example.com/proxy:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
							Resources: corev1.ResourceRequirements{Requests: sidecar}},
					},
					Containers: []corev1.Container{{
						Name: "app", Image: "example.com/app:1", Args: []string{"--serve"},
						Env:            []corev1.EnvVar{{Name: "A", Value: "b"}},
						Resources:      corev1.ResourceRequirements{Requests: requests, Limits: limits},
						ReadinessProbe: &corev1.Probe{PeriodSeconds: 5},
					}},
					Volumes: []corev1.Volume{{Name: "tmp"}},
				},
			},
		},
		Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 3},
	}
}

func TestTransformDeploymentKeepsWhatRulesRead(t *testing.T) {
	in := fullDeployment(quantities("cpu", "100m", "memory", "128Mi"), quantities("memory", "256Mi"), quantities("cpu", "10m"))
	out, err := transform(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	e := out.(*entry)
	d, err := e.deployment()
	if err != nil {
		t.Fatal(err)
	}
	want := &appsv1.Deployment{
		TypeMeta: in.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "42",
			Annotations: map[string]string{policies.AnnotationExempt: "cost-ceiling", policies.AnnotationExemptReason: "OPS-1"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{
					{Name: "migrate"},
					{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
						Resources: corev1.ResourceRequirements{Requests: quantities("cpu", "10m")}},
				},
				Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
					Requests: quantities("cpu", "100m", "memory", "128Mi"), Limits: quantities("memory", "256Mi")}}},
			}},
		},
	}
	if !apiequality.Semantic.DeepEqual(d, want) {
		t.Errorf("decoded:\n got %+v\nwant %+v", d, want)
	}
	if again, _ := transform(e); again != e {
		t.Error("the transform is not idempotent")
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "shop/web", Obj: in}
	if got, _ := transform(tomb); !reflect.DeepEqual(got, tomb) {
		t.Error("a tombstone was changed")
	}
	if m := e.GetObjectMeta(); m.GetNamespace() != "shop" || m.GetName() != "web" || m.GetResourceVersion() != "42" {
		t.Errorf("an entry's key and version: %s/%s %s", m.GetNamespace(), m.GetName(), m.GetResourceVersion())
	}
}

// TestTransformsKeepVerdicts runs the rules that read the cache against the
// stored objects and against their transformed copies: the verdicts must be
// the same, or a transform dropped something a rule reads.
func TestTransformsKeepVerdicts(t *testing.T) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "web", UID: "k"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "keda"}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](95)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "memory",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3},
	}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "shop", Annotations: map[string]string{"x": "y"}},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, DefaultRequest: quantities("memory", "64Mi")}}}}
	workloads := map[string]*appsv1.Deployment{
		"capped":            fullDeployment(quantities("cpu", "1", "memory", "1Gi"), quantities("cpu", "1", "memory", "1Gi"), quantities("cpu", "10m", "memory", "8Mi")),
		"sidecar no memory": fullDeployment(quantities("cpu", "1", "memory", "1Gi"), nil, quantities("cpu", "10m")),
		"limits only":       fullDeployment(nil, quantities("cpu", "1"), nil),
	}
	s := policies.Defaults()
	s.Rules.CostCeiling.Action = policies.Warn
	for name, d := range workloads {
		t.Run(name, func(t *testing.T) {
			verdict := func(d *appsv1.Deployment, h *autoscalingv2.HorizontalPodAutoscaler, l *corev1.LimitRange) (policies.Findings, policies.Findings) {
				c := policies.NewStaticCluster()
				w, _ := policies.WorkloadOf(d)
				c.AddWorkload(w)
				c.AddHPA(h)
				c.AddLimitRange(*l)
				onHPA := policies.EvaluateHPA(policies.HPAReview{Object: h, Final: true, Cluster: c}, &s).Findings
				old := w
				old.Replicas = ptr.To[int32](1)
				onWorkload := policies.EvaluateWorkload(policies.WorkloadReview{Object: w, Old: &old, Cluster: c}, &s)
				return onHPA, onWorkload
			}
			te, _ := transform(d.DeepCopy())
			td, err := te.(*entry).deployment()
			if err != nil {
				t.Fatal(err)
			}
			he, _ := transform(hpa.DeepCopy())
			th, err := he.(*entry).horizontalPodAutoscaler()
			if err != nil {
				t.Fatal(err)
			}
			tl, _ := transform(lr.DeepCopy())
			wantHPA, wantWorkload := verdict(d, hpa, lr)
			gotHPA, gotWorkload := verdict(td, th, tl.(*corev1.LimitRange))
			if len(wantHPA) == 0 || len(wantWorkload) == 0 {
				t.Fatalf("the fixture judges nothing: %v %v", wantHPA, wantWorkload)
			}
			if !reflect.DeepEqual(gotHPA, wantHPA) {
				t.Errorf("HPA verdict changed by the transforms:\n got %v\nwant %v", gotHPA, wantHPA)
			}
			if !reflect.DeepEqual(gotWorkload, wantWorkload) {
				t.Errorf("workload verdict changed by the transforms:\n got %v\nwant %v", gotWorkload, wantWorkload)
			}
		})
	}
}

func TestTransformStatefulSetDropsClaims(t *testing.T) {
	in := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr.To[int32](2),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Resources:  &corev1.ResourceRequirements{Requests: quantities("cpu", "1")},
				Containers: []corev1.Container{{Name: "db", Image: "postgres"}}}},
		},
	}
	out, _ := transform(in)
	s, err := out.(*entry).statefulSet()
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.VolumeClaimTemplates != nil || s.Spec.Template.Spec.Containers[0].Image != "" {
		t.Errorf("kept what no rule reads: %+v", s.Spec)
	}
	if *s.Spec.Replicas != 2 || s.Spec.Template.Spec.Resources == nil {
		t.Errorf("dropped replicas or pod-level resources: %+v", s.Spec)
	}
}

func TestTransformAPIService(t *testing.T) {
	in := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io", "resourceVersion": "9",
			"managedFields": []any{map[string]any{"manager": "kube-apiserver"}}},
		"spec": map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "caBundle": "LS0t…",
			"service": map[string]any{"name": "metrics-server", "namespace": "kube-system"}},
		"status": map[string]any{"conditions": []any{
			map[string]any{"type": "Available", "status": "False", "reason": "MissingEndpoints", "message": "long"}}},
	}}
	out, err := transformAPIService(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io", "resourceVersion": "9"},
		"spec":     map[string]any{"group": "metrics.k8s.io"},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "False"}}},
	}
	if got := out.(*unstructured.Unstructured).Object; !reflect.DeepEqual(got, want) {
		t.Errorf("transformed:\n got %v\nwant %v", got, want)
	}
}

// The audit tells an HPA last written as autoscaling/v1 from its
// managedFields: the entry keeps that one write, and nothing else.
func TestHPAKeepsItsLastWriteVersion(t *testing.T) {
	at := func(sec int64) *metav1.Time { return ptr.To(metav1.Unix(sec, 0)) }
	write := func(version string, sec int64, subresource string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: version,
			Time: at(sec), Subresource: subresource, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}
	}
	for name, tc := range map[string]struct {
		fields []metav1.ManagedFieldsEntry
		want   string
	}{
		"v1, then its status":     {[]metav1.ManagedFieldsEntry{write("autoscaling/v1", 10, ""), write("autoscaling/v2", 20, "status")}, "autoscaling/v1"},
		"v1, then v2":             {[]metav1.ManagedFieldsEntry{write("autoscaling/v1", 10, ""), write("autoscaling/v2", 20, "")}, ""},
		"v2, then v1":             {[]metav1.ManagedFieldsEntry{write("autoscaling/v2", 10, ""), write("autoscaling/v1", 20, "")}, "autoscaling/v1"},
		"v2 and v1 in one second": {[]metav1.ManagedFieldsEntry{write("autoscaling/v2", 10, ""), write("autoscaling/v1", 10, "")}, "autoscaling/v1"},
		"no managedFields":        {nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ManagedFields: tc.fields}}
			e, err := transform(h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.(*entry).horizontalPodAutoscaler()
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && got.ManagedFields != nil:
				t.Errorf("kept %+v", got.ManagedFields)
			case tc.want != "" && (len(got.ManagedFields) != 1 || got.ManagedFields[0].APIVersion != tc.want || got.ManagedFields[0].FieldsV1 != nil):
				t.Errorf("kept %+v, want one %s entry without its fields", got.ManagedFields, tc.want)
			}
		})
	}
}
