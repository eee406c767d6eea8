package load

import (
	"encoding/json"
	"fmt"
	"strings"
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

// The objects below are what an API server sends for workloads a platform
// team runs: labels and annotations from Helm and Argo CD, kubectl's
// last-applied-configuration, managedFields of several managers, a status.
// Their size comes from those, as in a real cluster; a change-log
// annotation tops each up to the size asked for.

// created is a fixed timestamp, so that every run sends the same bytes.
var created = metav1.NewTime(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))

// objectMeta is the metadata of an object a chart installed; lean is that
// of one applied with a bare manifest (two labels, no annotations).
func objectMeta(name string, generation int64, lean bool) metav1.ObjectMeta {
	if lean {
		return metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID(fmt.Sprintf("5b0c3c2e-7f7e-4a53-9d2e-%012d", len(name))),
			ResourceVersion: fmt.Sprint(48213 + generation), Generation: generation, CreationTimestamp: created,
			Labels:      map[string]string{"app.kubernetes.io/name": name, "team": "checkout"},
			Annotations: map[string]string{},
		}
	}
	return metav1.ObjectMeta{
		Name: name, Namespace: "shop", UID: types.UID(fmt.Sprintf("5b0c3c2e-7f7e-4a53-9d2e-%012d", len(name))),
		ResourceVersion: fmt.Sprint(48213 + generation), Generation: generation, CreationTimestamp: created,
		Labels: map[string]string{
			"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name + "-prod",
			"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "Helm",
			"app.kubernetes.io/version": "4.18.2", "helm.sh/chart": "shop-services-4.18.2",
			"team": "checkout", "tier": "backend", "cost-center": "cc-4411",
		},
		Annotations: map[string]string{
			"meta.helm.sh/release-name": name + "-prod", "meta.helm.sh/release-namespace": "shop",
			"argocd.argoproj.io/tracking-id": "shop-prod:apps/Deployment:shop/" + name,
			"owner.example.com/oncall":       "https://oncall.example.com/schedules/checkout",
			"owner.example.com/runbook":      "https://runbooks.example.com/shop/" + name,
		},
	}
}

// fieldsV1 renders the managedFields set of a JSON value: f:<key> for
// object keys, k:{"name":…} for named list items, as the API server writes.
func fieldsV1(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range t {
			out["f:"+k] = fieldsV1(sub)
		}
		return out
	case []any:
		out := map[string]any{}
		for _, item := range t {
			if m, ok := item.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					out[`k:{"name":"`+name+`"}`] = fieldsV1(m)
					continue
				}
			}
			out["."] = map[string]any{}
		}
		return out
	}
	return map[string]any{}
}

// finish adds what the API server keeps beside the object: managedFields
// for metadata, spec and status, and kubectl's last-applied-configuration
// when lastApplied, then pads with a change-log annotation until the JSON is
// size bytes long.
func finish(obj interface {
	GetObjectMeta() metav1.Object
}, spec, status any, lastApplied bool, size int) error {
	meta := obj.GetObjectMeta()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	var specAny, statusAny any
	_ = json.Unmarshal(specJSON, &specAny)
	statusJSON, err := json.Marshal(status)
	if err != nil {
		return err
	}
	_ = json.Unmarshal(statusJSON, &statusAny)
	ann := meta.GetAnnotations()
	specManager := "helm"
	if lastApplied {
		specManager = "kubectl-client-side-apply"
		ann["kubectl.kubernetes.io/last-applied-configuration"] = fmt.Sprintf(
			`{"apiVersion":"…","kind":"…","metadata":{"name":%q,"namespace":"shop"},"spec":%s}`+"\n", meta.GetName(), specJSON)
	}
	meta.SetAnnotations(ann)
	managed := func(manager string, op metav1.ManagedFieldsOperationType, sub string, fields any) metav1.ManagedFieldsEntry {
		raw, _ := json.Marshal(fields)
		e := metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", Time: &created,
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw))}
		if sub != "" {
			e.Subresource = sub
		}
		return e
	}
	meta.SetManagedFields([]metav1.ManagedFieldsEntry{
		managed(specManager, metav1.ManagedFieldsOperationUpdate, "", map[string]any{
			"f:metadata": map[string]any{"f:labels": fieldsV1(toAny(meta.GetLabels()))},
			"f:spec":     fieldsV1(specAny)}),
		managed("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status", map[string]any{"f:status": fieldsV1(statusAny)}),
	})
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if len(b) > size {
		return nil
	}
	// Each line of the change log is a release note, as some pipelines write.
	var log strings.Builder
	for i := 0; log.Len() < size-len(b)-64; i++ {
		fmt.Fprintf(&log, "4.%d.0: rolled out by pipeline run %d, approved by release-bot; no config change.\n", i, 90210+i)
	}
	ann["deploy.example.com/change-log"] = log.String()
	meta.SetAnnotations(ann)
	return nil
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// HPAStatus is the status the HPA controller keeps on a running HPA.
func hpaStatus() autoscalingv2.HorizontalPodAutoscalerStatus {
	cond := func(t autoscalingv2.HorizontalPodAutoscalerConditionType, reason, msg string) autoscalingv2.HorizontalPodAutoscalerCondition {
		return autoscalingv2.HorizontalPodAutoscalerCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: created, Reason: reason, Message: msg}
	}
	return autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 4, DesiredReplicas: 4, LastScaleTime: &created,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](52), AverageValue: ptr.To(resource.MustParse("261m"))}}}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			cond(autoscalingv2.AbleToScale, "ReadyForNewScale", "recommended size matches current size"),
			cond(autoscalingv2.ScalingActive, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"),
			cond(autoscalingv2.ScalingLimited, "DesiredWithinRange", "the desired count is within the acceptable range"),
		},
	}
}

// Shape says how big an object is and what makes it so.
type Shape struct {
	// Lean is an object applied from a bare manifest: two labels, no
	// annotations, managedFields only. Otherwise it was installed by a chart
	// (Helm and Argo CD labels and annotations) and last applied with
	// kubectl (last-applied-configuration).
	Lean bool
	// Extra adds per-queue External metrics to an HPA, sidecars (up to 3)
	// to a Deployment.
	Extra int
	// Size pads the JSON with a change-log annotation to about this many
	// bytes; an object already larger stays as it is.
	Size int
}

// HPA is an autoscaling/v2 HPA as the API server sends it. standard gives
// it what scaleguard's standard asks for (minReplicas 2, memory target,
// behavior); otherwise it has what a user writes with only a CPU target,
// after the API server's defaults.
func HPA(name string, standard bool, sh Shape) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: policies.KindHPA},
		ObjectMeta: objectMeta(name, 3, sh.Lean),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: policies.KindDeployment, Name: name},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    20,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}},
		},
		Status: hpaStatus(),
	}
	for i := range sh.Extra {
		hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
			External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "rabbitmq_queue_messages_ready",
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": fmt.Sprintf("%s.orders.%d", name, i), "vhost": "shop"}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("30"))}}})
	}
	if standard {
		hpa.Spec.MinReplicas = ptr.To[int32](2)
		hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}})
		hpa.Spec.Behavior = ptr.To(policies.StandardBehavior())
	}
	return hpa, finish(hpa, hpa.Spec, hpa.Status, !sh.Lean, sh.Size)
}

// Deployment is an apps/v1 Deployment: an app container and sh.Extra
// sidecars, each with the env vars, ports, probes and mounts services
// carry, an init container, every one requesting CPU and memory.
func Deployment(name string, sh Shape) (*appsv1.Deployment, error) {
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name + "-prod"}
	container := func(cname, image string, port int32, envs int) corev1.Container {
		c := corev1.Container{
			Name: cname, Image: "registry.example.com/shop/" + image, ImagePullPolicy: corev1.PullIfNotPresent,
			Args: []string{"--config=/etc/" + cname + "/config.yaml", "--log-format=json"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: port + 1000, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "config-" + cname, MountPath: "/etc/" + cname, ReadOnly: true},
				{Name: "tmp", MountPath: "/tmp"}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/readyz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
				InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true),
				AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}
		for i := range envs {
			c.Env = append(c.Env, corev1.EnvVar{Name: fmt.Sprintf("%s_SETTING_%02d", strings.ToUpper(cname), i), Value: fmt.Sprintf("value-%d", i*7919)})
		}
		c.Env = append(c.Env,
			corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			corev1.EnvVar{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name + "-db"}, Key: "password"}}})
		return c
	}
	containers := []corev1.Container{
		container("app", "checkout:4.18.2", 8080, 8),
		container("envoy", "envoy:1.33.1", 9901, 2),
		container("log-shipper", "fluent-bit:3.2.4", 2020, 2),
		container("metrics-exporter", "statsd-exporter:0.28.0", 9102, 2),
	}[:1+min(sh.Extra, 3)]
	var volumes []corev1.Volume
	for _, c := range containers {
		volumes = append(volumes, corev1.Volume{Name: "config-" + c.Name, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-" + c.Name}, DefaultMode: ptr.To[int32](0o644)}}})
	}
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: policies.KindDeployment},
		ObjectMeta: objectMeta(name, 12, sh.Lean),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](4), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%"))}},
			RevisionHistoryLimit: ptr.To[int32](10), ProgressDeadlineSeconds: ptr.To[int32](600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					"checksum/config":      "9f2c1e7d4b8a6f0e3d5c7b9a1e2f4d6c8b0a2e4f6d8c0b2a4e6f8d0c2b4a6e8f",
					"prometheus.io/scrape": "true", "prometheus.io/port": "9080"}},
				Spec: corev1.PodSpec{
					InitContainers:                []corev1.Container{container("migrate", "checkout-migrate:4.18.2", 8081, 2)},
					Containers:                    containers,
					Volumes:                       volumes,
					ServiceAccountName:            name,
					RestartPolicy:                 corev1.RestartPolicyAlways,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					DNSPolicy:                     corev1.DNSClusterFirst,
					SchedulerName:                 corev1.DefaultSchedulerName,
					SecurityContext:               &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](10001), FSGroup: ptr.To[int64](10001)},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
						WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: labels}}},
				},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 12, Replicas: 4, UpdatedReplicas: 4, ReadyReplicas: 4, AvailableReplicas: 4,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: created, LastTransitionTime: created,
					Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, LastUpdateTime: created, LastTransitionTime: created,
					Reason: "NewReplicaSetAvailable", Message: `ReplicaSet "` + name + `-7d9f8c6b5d" has successfully progressed.`},
			}},
	}
	return d, finish(d, d.Spec, d.Status, !sh.Lean, sh.Size)
}
