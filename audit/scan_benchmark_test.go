package audit

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// scanGoal is the budget for a full scan of the 20,000 objects.
const scanGoal = 2 * time.Second

// fleet is a cluster's worth of stored objects: n Deployments over 200
// namespaces, each scaled by its own HPA, shaped like whole stored objects
// (labels, annotations, managedFields, probes, env, a sidecar on every
// fourth), with a few percent breaking a rule:
//
//   - every 40th Deployment's sidecar requests no memory (requests-required,
//     and target-requests on both sides);
//   - every 50th HPA is stored as the API server defaults a minimal one
//     (three mutate rules);
//   - every 100th HPA scales up one pod every two minutes to 60 replicas
//     (behavior-consistency warns);
//   - every 200th HPA was last written as autoscaling/v1.
func fleet(n int) Objects {
	objs := Objects{Workloads: make([]Workload, n), HPAs: make([]autoscalingv2.HorizontalPodAutoscaler, n)}
	created := metav1.NewTime(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	for i := range n {
		ns := fmt.Sprintf("team-%03d", i%200)
		name := fmt.Sprintf("svc-%05d", i)
		labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns, "app.kubernetes.io/managed-by": "argocd"}
		meta := func(kind string) metav1.ObjectMeta {
			return metav1.ObjectMeta{
				Namespace: ns, Name: name, UID: benchUID(kind, i), ResourceVersion: fmt.Sprint(1000 + i), Generation: 3,
				CreationTimestamp: created, Labels: labels,
				Annotations: map[string]string{"argocd.argoproj.io/tracking-id": ns + ":apps/" + kind + ":" + ns + "/" + name},
				ManagedFields: []metav1.ManagedFieldsEntry{{
					Manager: "argocd-controller", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1",
					Time: &created, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:template":{}}}`),
				}},
			}
		}

		app := corev1.Container{
			Name: "app", Image: "registry.example.com/" + ns + "/" + name + ":1.42.0",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
		}
		containers := []corev1.Container{app}
		if i%4 == 0 {
			sidecar := corev1.Container{Name: "proxy", Image: "registry.example.com/proxy:2.1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}
			if i%40 == 0 {
				delete(sidecar.Resources.Requests, corev1.ResourceMemory)
			}
			containers = append(containers, sidecar)
		}
		d := appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: policies.KindDeployment},
			ObjectMeta: meta("Deployment"),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: containers, ServiceAccountName: name},
				},
			},
		}
		objs.Workloads[i], _ = WorkloadOf(&d)

		h := hpa(ns, name, name)
		h.TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: policies.KindHPA}
		h.ObjectMeta = meta("HorizontalPodAutoscaler")
		h.ManagedFields[0].APIVersion = "autoscaling/v2"
		h.Spec.MaxReplicas = int32(10 + i%50)
		switch {
		case i%50 == 0:
			asDefaulted(&h)
		case i%100 == 1:
			h.Spec.MaxReplicas = 60
			h.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](0),
				SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 120}},
			}
		case i%200 == 3:
			h.ManagedFields[0].APIVersion = "autoscaling/v1"
		}
		objs.HPAs[i] = h
	}
	return objs
}

func benchUID(kind string, i int) types.UID {
	return types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", len(kind), i))
}

// BenchmarkScan20000 is the budget: a full scan of 10,000
// Deployments and 10,000 HPAs must take at most 2 s. The cluster view is
// built once, as the webhook's informers are; Scan is what runs each
// interval.
func BenchmarkScan20000(b *testing.B) {
	objs := fleet(10000)
	s := policies.Defaults()
	// The fleet's own garbage is collected now, not inside the first scan.
	runtime.GC()
	b.Run("static-cluster", func(b *testing.B) {
		cluster := Snapshot(objs)
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			res = Scan(objs, cluster, &s)
		}
		reportScan(b, res)
	})
	// With no view given, Scan builds its snapshot every time: what the
	// Auditor does without the webhook's cluster view.
	b.Run("snapshot-per-scan", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			res = Scan(objs, nil, &s)
		}
		reportScan(b, res)
	})
}

func reportScan(b *testing.B, res Result) {
	b.Helper()
	if res.Scanned != 20000 {
		b.Fatalf("scanned %d objects, want 20000", res.Scanned)
	}
	b.ReportMetric(float64(len(res.Violations())), "violations")
	perScan := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(perScan.Seconds()/scanGoal.Seconds()*100, "%goal")
	if perScan > scanGoal {
		b.Errorf("a full scan took %s, over the %s goal", perScan, scanGoal)
	}
}
