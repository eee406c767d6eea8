package audit

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// requests returns cpu and memory requests.
func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}
}

// deployment is a Deployment whose one container requests cpu and memory:
// it breaks no rule.
func deployment(ns, name string, opts ...func(*appsv1.Deployment)) appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-deploy-" + name)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "registry.example.com/" + name + ":1.0", Resources: requests("100m", "128Mi")},
				}},
			},
		},
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

// namespace is a Namespace with the given labels (key, value, …).
func namespace(name string, labels ...string) corev1.Namespace {
	ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i+1 < len(labels); i += 2 {
		ns.Labels[labels[i]] = labels[i+1]
	}
	return ns
}

// noRequests removes every container's requests.
func noRequests(d *appsv1.Deployment) {
	for i := range d.Spec.Template.Spec.Containers {
		d.Spec.Template.Spec.Containers[i].Resources = corev1.ResourceRequirements{}
	}
}

// withSidecar adds a second app container, with no requests.
func withSidecar(d *appsv1.Deployment) {
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers,
		corev1.Container{Name: "proxy", Image: "registry.example.com/proxy:2.1"})
}

func annotated(kv ...string) func(*metav1.ObjectMeta) {
	return func(m *metav1.ObjectMeta) {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func deploymentMeta(f func(*metav1.ObjectMeta)) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { f(&d.ObjectMeta) }
}

func utilization(r corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: r, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)}}}
}

// hpa is a stored HPA that meets the standard, scaling the Deployment
// named target: minReplicas 2, cpu 70 % and memory 80 %, the standard
// behavior.
func hpa(ns, name, target string, opts ...func(*autoscalingv2.HorizontalPodAutoscaler)) autoscalingv2.HorizontalPodAutoscaler {
	b := policies.StandardBehavior()
	h := autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-hpa-" + name)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: policies.KindDeployment, Name: target},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics:        []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 70), utilization(corev1.ResourceMemory, 80)},
			Behavior:       &b,
		},
	}
	for _, o := range opts {
		o(&h)
	}
	return h
}

// asDefaulted is an HPA written with only a target and a CPU metric, as the
// API server stores it: minReplicas 1, no behavior, no memory metric.
func asDefaulted(h *autoscalingv2.HorizontalPodAutoscaler) {
	h.Spec.MinReplicas = ptr.To[int32](1)
	h.Spec.Behavior = nil
	h.Spec.Metrics = []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 80)}
}

// writtenWith records writes through apiVersions, one second apart, in
// managedFields, the last one latest.
func writtenWith(apiVersions ...string) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, v := range apiVersions {
			h.ManagedFields = append(h.ManagedFields, metav1.ManagedFieldsEntry{
				Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: v,
				Time: &metav1.Time{Time: t0.Add(time.Duration(i) * time.Second)}, FieldsType: "FieldsV1",
			})
		}
		// The HPA controller writes status through v2 at any time.
		h.ManagedFields = append(h.ManagedFields, metav1.ManagedFieldsEntry{
			Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "autoscaling/v2",
			Time: &metav1.Time{Time: t0.Add(time.Hour)}, FieldsType: "FieldsV1", Subresource: "status",
		})
	}
}

// workloads is the Workloads of Deployments; each one's pod template is
// ds's own.
func workloads(ds ...appsv1.Deployment) []Workload {
	out := make([]Workload, len(ds))
	for i := range ds {
		out[i], _ = WorkloadOf(&ds[i])
	}
	return out
}
