package policies

import (
	"fmt"
	"maps"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/internal/objectjson"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// KindScaledObject is the kind of a KEDA ScaledObject (keda.sh/v1alpha1).
const KindScaledObject = "ScaledObject"

// ScaledObjectGroup and ScaledObjectVersion are the API group and version
// the rules read a ScaledObject in, the one version KEDA's CRD serves.
const (
	ScaledObjectGroup   = "keda.sh"
	ScaledObjectVersion = "v1alpha1"
)

// ScaledObject is a KEDA ScaledObject reduced to what the rules read: what
// KEDA builds its HorizontalPodAutoscaler from. The fields and their JSON
// names are those of ScaledObject in github.com/kedacore/keda/v2 v2.20.2
// (apis/keda/v1alpha1/scaledobject_types.go, scaletriggers_types.go). That
// module is not a dependency: it would pull KEDA and its scalers' clients
// into scaleguard's build for a dozen fields, and a ScaledObject arrives as
// JSON (admission, the dynamic informer, files) anyway.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec mirrors ScaledObjectSpec.
type ScaledObjectSpec struct {
	ScaleTargetRef  *ScaledObjectTarget   `json:"scaleTargetRef,omitempty"`
	MinReplicaCount *int32                `json:"minReplicaCount,omitempty"`
	MaxReplicaCount *int32                `json:"maxReplicaCount,omitempty"`
	Advanced        *ScaledObjectAdvanced `json:"advanced,omitempty"`
	Triggers        []ScaledObjectTrigger `json:"triggers,omitempty"`
}

// ScaledObjectTarget mirrors ScaleTarget.
type ScaledObjectTarget struct {
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ScaledObjectAdvanced mirrors AdvancedConfig, its HPA part only.
type ScaledObjectAdvanced struct {
	HorizontalPodAutoscalerConfig *ScaledObjectHPAConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
}

// ScaledObjectHPAConfig mirrors HorizontalPodAutoscalerConfig: the name and
// the behavior KEDA gives the HPA it builds.
type ScaledObjectHPAConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	Name     string                                         `json:"name,omitempty"`
}

// ScaledObjectTrigger mirrors ScaleTriggers.
type ScaledObjectTrigger struct {
	Type       string                         `json:"type"`
	Name       string                         `json:"name,omitempty"`
	Metadata   map[string]string              `json:"metadata,omitempty"`
	MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// What KEDA assumes when a ScaledObject leaves a field out.
const (
	// scaledObjectDefaultGroup, Version and Kind are the target KEDA's
	// ParseGVKR (apis/keda/v1alpha1/gvkr.go) assumes.
	scaledObjectDefaultGroup   = "apps"
	scaledObjectDefaultVersion = "v1"
	scaledObjectDefaultKind    = KindDeployment
	// kedaDefaultHPAMinReplicas and MaxReplicas are defaultHPAMinReplicas
	// and defaultHPAMaxReplicas (scaledobject_types.go).
	kedaDefaultHPAMinReplicas int32 = 1
	kedaDefaultHPAMaxReplicas int32 = 100
	// kedaHPANamePrefix names the HPA KEDA builds when
	// horizontalPodAutoscalerConfig.name is unset (getDefaultHpaName,
	// controllers/keda/hpa.go).
	kedaHPANamePrefix = "keda-hpa-"
	// kedaContainerName is the trigger metadata key that turns a cpu or
	// memory trigger into a ContainerResource metric (cpuMemoryMetadata,
	// pkg/scalers/cpu_memory_scaler.go).
	kedaContainerName = "containerName"
)

// Paths of a ScaledObject's fields, for findings.
var (
	pathMinReplicaCount = field.NewPath("spec", "minReplicaCount")
	pathMaxReplicaCount = field.NewPath("spec", "maxReplicaCount")
	pathHPAConfig       = field.NewPath("spec", "advanced", "horizontalPodAutoscalerConfig")
	pathSOBehavior      = pathHPAConfig.Child("behavior")
	pathTriggers        = field.NewPath("spec", "triggers")

	// scaledObjectFields are where a ScaledObject writes the fields KEDA
	// builds its HPA's from (newHPAForScaledObject).
	scaledObjectFields = scaling.Fields{MinReplicas: pathMinReplicaCount, MaxReplicas: pathMaxReplicaCount, Behavior: pathSOBehavior}
)

// DecodeScaledObject reads a ScaledObject from JSON. Fields the rules do not
// read are ignored, as KEDA's own clients ignore fields they do not know; a
// field the rules read with the wrong type is an error naming it.
func DecodeScaledObject(data []byte) (*ScaledObject, error) {
	var so ScaledObject
	if err := objectjson.Unmarshal(data, &so); err != nil {
		return nil, fmt.Errorf("not a valid %s: %w", KindScaledObject, err)
	}
	return &so, nil
}

// Target is the kind and name of the scale target as KEDA resolves them: a
// kind left out is a Deployment (ParseGVKR). ok is false without a
// scaleTargetRef, which KEDA's CRD requires.
func (so *ScaledObject) Target() (kind, name string, ok bool) {
	ref := so.Spec.ScaleTargetRef
	if ref == nil {
		return "", "", false
	}
	kind = ref.Kind
	if kind == "" {
		kind = scaledObjectDefaultKind
	}
	return kind, ref.Name, true
}

// Targets reports whether the ScaledObject scales kind/name; like HPAsFor,
// the API version is not compared.
func (so *ScaledObject) Targets(kind, name string) bool {
	k, n, ok := so.Target()
	return ok && k == kind && n == name
}

// HPAName is the name of the HPA KEDA builds: horizontalPodAutoscalerConfig
// .name, else keda-hpa-<name> (getHPAName, controllers/keda/hpa.go).
func (so *ScaledObject) HPAName() string {
	if c := so.hpaConfig(); c != nil && c.Name != "" {
		return c.Name
	}
	return kedaHPANamePrefix + so.Name
}

func (so *ScaledObject) hpaConfig() *ScaledObjectHPAConfig {
	if so.Spec.Advanced == nil {
		return nil
	}
	return so.Spec.Advanced.HorizontalPodAutoscalerConfig
}

// Behavior is the behavior KEDA copies into its HPA, nil when unset.
func (so *ScaledObject) Behavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	if c := so.hpaConfig(); c != nil {
		return c.Behavior
	}
	return nil
}

// HPAMinReplicas is the HPA's minReplicas: minReplicaCount when above 0,
// else 1 (GetHPAMinReplicas, scaledobject_types.go). KEDA itself scales a
// target between 0 and 1 outside the HPA.
func (so *ScaledObject) HPAMinReplicas() int32 {
	if m := so.Spec.MinReplicaCount; m != nil && *m > 0 {
		return *m
	}
	return kedaDefaultHPAMinReplicas
}

// MinReplicaCount is the fewest replicas the ScaledObject keeps: 0 when
// unset, KEDA's default.
func (so *ScaledObject) MinReplicaCount() int32 {
	if m := so.Spec.MinReplicaCount; m != nil {
		return *m
	}
	return 0
}

// HPAMaxReplicas is the HPA's maxReplicas: maxReplicaCount, else 100
// (GetHPAMaxReplicas).
func (so *ScaledObject) HPAMaxReplicas() int32 {
	if m := so.Spec.MaxReplicaCount; m != nil {
		return *m
	}
	return kedaDefaultHPAMaxReplicas
}

// resourceTrigger is a cpu or memory trigger and the metric KEDA makes of
// it.
type resourceTrigger struct {
	index  int
	metric autoscalingv2.MetricSpec
}

// resourceTriggers are the cpu and memory triggers, each as the metric
// KEDA's cpuMemoryScaler.GetMetricSpecForScaling builds: a ContainerResource
// metric when metadata.containerName is set, else a Resource metric, with
// the trigger's metricType. The target's value is left out: no rule reads
// it, and KEDA parses it (parseResourceMetadata) only when it runs.
func (so *ScaledObject) resourceTriggers() []resourceTrigger {
	var out []resourceTrigger
	for i, t := range so.Spec.Triggers {
		r := corev1.ResourceName(t.Type)
		if r != corev1.ResourceCPU && r != corev1.ResourceMemory {
			continue
		}
		target := autoscalingv2.MetricTarget{Type: t.MetricType}
		m := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: r, Target: target}}
		if c := t.Metadata[kedaContainerName]; c != "" {
			m = autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
				ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: r, Container: c, Target: target}}
		}
		out = append(out, resourceTrigger{index: i, metric: m})
	}
	return out
}

// HasResourceTrigger reports whether a trigger is cpu or memory.
func (so *ScaledObject) HasResourceTrigger() bool {
	return len(so.resourceTriggers()) > 0
}

// HPA is the HorizontalPodAutoscaler KEDA builds from the ScaledObject
// (newHPAForScaledObject, controllers/keda/hpa.go), as the API server stores
// it: its name, bounds, behavior (defaulted, scaling.DefaultedBehavior) and
// the metrics of the cpu and memory triggers, in trigger order. The other
// triggers' External metrics are left out: no rule reads them. An owner
// reference names the ScaledObject, as SetControllerReference writes it.
// The pause annotations (autoscaling.keda.sh/paused-scale-in, -out), which
// disable a direction on purpose, are not applied.
func (so *ScaledObject) HPA() *autoscalingv2.HorizontalPodAutoscaler {
	kind, name, _ := so.Target()
	apiVersion := scaledObjectDefaultGroup + "/" + scaledObjectDefaultVersion
	if ref := so.Spec.ScaleTargetRef; ref != nil && ref.APIVersion != "" {
		apiVersion = ref.APIVersion
	}
	var behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
	if b := so.Behavior(); b != nil {
		behavior = b.DeepCopy()
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta: TypeMetaHPAv2(),
		ObjectMeta: metav1.ObjectMeta{Name: so.HPAName(), Namespace: so.Namespace, Annotations: maps.Clone(so.Annotations),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: ScaledObjectGroup + "/" + ScaledObjectVersion, Kind: KindScaledObject, Name: so.Name, UID: so.UID}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: name},
			MinReplicas:    ptr.To(so.HPAMinReplicas()),
			MaxReplicas:    so.HPAMaxReplicas(),
			Behavior:       scaling.DefaultedBehavior(behavior),
		},
	}
	for _, t := range so.resourceTriggers() {
		hpa.Spec.Metrics = append(hpa.Spec.Metrics, t.metric)
	}
	return hpa
}

// OwnsHPA reports whether hpa is the ScaledObject's own: KEDA's
// verifyHpas (scaledobject_webhook.go) counts an HPA as owned when an owner
// reference has kind ScaledObject and the ScaledObject's name.
func (so *ScaledObject) OwnsHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	return ownedByScaledObject(hpa) == so.Name && so.Name != ""
}

// ownedByScaledObject is the name of the ScaledObject an owner reference of
// hpa names, "" for none.
func ownedByScaledObject(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, o := range hpa.OwnerReferences {
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		if o.Kind == KindScaledObject && gv.Group == ScaledObjectGroup {
			return o.Name
		}
	}
	return ""
}

// DeepCopy returns a copy that shares nothing with so.
func (so *ScaledObject) DeepCopy() *ScaledObject {
	out := &ScaledObject{TypeMeta: so.TypeMeta, ObjectMeta: *so.ObjectMeta.DeepCopy()}
	s := &so.Spec
	if s.ScaleTargetRef != nil {
		r := *s.ScaleTargetRef
		out.Spec.ScaleTargetRef = &r
	}
	if s.MinReplicaCount != nil {
		out.Spec.MinReplicaCount = ptr.To(*s.MinReplicaCount)
	}
	if s.MaxReplicaCount != nil {
		out.Spec.MaxReplicaCount = ptr.To(*s.MaxReplicaCount)
	}
	if s.Advanced != nil {
		out.Spec.Advanced = &ScaledObjectAdvanced{}
		if c := s.Advanced.HorizontalPodAutoscalerConfig; c != nil {
			out.Spec.Advanced.HorizontalPodAutoscalerConfig = &ScaledObjectHPAConfig{Name: c.Name, Behavior: c.Behavior.DeepCopy()}
		}
	}
	for _, t := range s.Triggers {
		t.Metadata = maps.Clone(t.Metadata)
		out.Spec.Triggers = append(out.Spec.Triggers, t)
	}
	return out
}
