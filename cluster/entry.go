package cluster

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// entry is what the view's informers hold of a Deployment, StatefulSet or
// HPA, the objects a cluster has by the thousand. A typed Deployment is
// 1.2 KB before its first container (408 bytes each) and a resource list is a
// map of some 600 bytes, so the typed objects are not kept: an entry keeps
// the object's identity and, encoded as protobuf, the fields the rules read,
// about 600 bytes in all.
//
// The encodings are not interned: unique.Make costs some 190 bytes per
// distinct value, as much as sharing saves when half the objects are alike,
// and a cluster must be sized for objects that are all different.
//
// Entries are immutable once stored; every read decodes a fresh object.
type entry struct {
	name, namespace, uid, resourceVersion string
	// annotations are the scaleguard.io/ ones (exemptions), usually none.
	annotations map[string]string
	// replicas is a workload's spec.replicas.
	replicas *int32
	// selector is a workload's pod selector as its scale subresource
	// reports it (policies.ScaleSelector), e.g. "app=web"; "" for none.
	selector string
	// podLabels are a workload's pod template labels as labels.Set prints
	// them ("app=web,tier=front"), kept apart from kept so that
	// selector-overlap, which reads every workload of a namespace on each
	// HPA review, decodes no template (policies.EncodedLabels).
	podLabels string
	// kept is the protobuf of a workload's reduced pod spec, or of an HPA's
	// spec.
	kept string
	// hpa is what only an HPA has, apart so that workloads do not carry it.
	hpa *hpaFields
}

type hpaFields struct {
	// ownerReferences: an owner such as KEDA means "judge, never mutate".
	ownerReferences []metav1.OwnerReference
	// managedFields is at most the one entry of the last write, without its
	// field set, when that write was not autoscaling/v2 (see lastWrite).
	managedFields []metav1.ManagedFieldsEntry
	// target is the scale target, "Kind/name", which HPAsFor compares, and
	// targetAPIVersion its apiVersion (interned: a handful of values); kept
	// leaves the scale target out rather than hold it twice.
	target, targetAPIVersion string
}

// GetObjectMeta makes an entry something client-go's stores can key and
// index (meta.Accessor accepts a metav1.ObjectMetaAccessor).
func (e *entry) GetObjectMeta() metav1.Object {
	m := e.objectMeta()
	return &m
}

// objectMeta is a copy of the kept metadata, for a decoded object.
func (e *entry) objectMeta() metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Name: e.name, Namespace: e.namespace, UID: types.UID(e.uid), ResourceVersion: e.resourceVersion,
		Annotations: maps.Clone(e.annotations),
	}
	if e.hpa != nil {
		m.OwnerReferences = slices.Clone(e.hpa.ownerReferences)
		m.ManagedFields = slices.Clone(e.hpa.managedFields)
	}
	return m
}

// newEntry keeps the identity of m. Namespace names, few and repeated
// across thousands of objects, are interned.
func newEntry(m *metav1.ObjectMeta, kept []byte) *entry {
	return &entry{
		name:            m.Name,
		namespace:       unique.Make(m.Namespace).Value(),
		uid:             string(m.UID),
		resourceVersion: m.ResourceVersion,
		annotations:     ownAnnotations(m.Annotations),
		kept:            string(kept),
	}
}

// workloadEntry keeps what the rules read of a Deployment or StatefulSet:
// spec.replicas; its pod template's labels (which PodDisruptionBudgets
// select); of its pod spec every container and init container's name,
// resources and restartPolicy (a restartable init container is a sidecar,
// and the HPA controller counts it), the pod-level resources that replace
// them, and what a ResourceQuota reads beyond them (the overhead it
// charges, activeDeadlineSeconds and priorityClassName, which its scopes
// match).
func workloadEntry(m *metav1.ObjectMeta, replicas *int32, selector *metav1.LabelSelector, template *corev1.PodTemplateSpec) (*entry, error) {
	spec := &template.Spec
	reduced := corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{
			Containers:            containers(spec.Containers),
			InitContainers:        containers(spec.InitContainers),
			Resources:             spec.Resources,
			Overhead:              spec.Overhead,
			ActiveDeadlineSeconds: spec.ActiveDeadlineSeconds,
			PriorityClassName:     spec.PriorityClassName,
		},
	}
	kept, err := reduced.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the pod template of %s/%s: %w", m.Namespace, m.Name, err)
	}
	e := newEntry(m, kept)
	e.replicas = replicas
	e.podLabels = labels.Set(template.Labels).String()
	if sel := policies.ScaleSelector(selector); sel != nil {
		e.selector = sel.String()
	}
	return e, nil
}

func containers(in []corev1.Container) []corev1.Container {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(in))
	for i := range in {
		out[i] = corev1.Container{
			Name: in[i].Name,
			Resources: corev1.ResourceRequirements{
				Requests: in[i].Resources.Requests,
				Limits:   in[i].Resources.Limits,
			},
			RestartPolicy: in[i].RestartPolicy,
		}
	}
	return out
}

// hpaEntry keeps an HPA's spec and owner references; its status is the
// controller's and no rule reads it.
func hpaEntry(h *autoscalingv2.HorizontalPodAutoscaler) (*entry, error) {
	spec := h.Spec
	ref := spec.ScaleTargetRef
	spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{}
	kept, err := spec.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the spec of HPA %s/%s: %w", h.Namespace, h.Name, err)
	}
	e := newEntry(&h.ObjectMeta, kept)
	e.hpa = &hpaFields{
		ownerReferences:  h.OwnerReferences,
		managedFields:    lastWrite(h.ManagedFields),
		target:           targetKey(ref.Kind, ref.Name),
		targetAPIVersion: unique.Make(ref.APIVersion).Value(),
	}
	return e, nil
}

func targetKey(kind, name string) string { return kind + "/" + name }

// targetKindName splits the kept target key.
func (h *hpaFields) targetKindName() (kind, name string) {
	kind, name, _ = strings.Cut(h.target, "/")
	return kind, name
}

// lastWrite keeps, of an HPA's managedFields, the entry of its last write
// through the main resource (on a tie of their one-second times, an older
// API version wins), without its field set, and only when that write was
// not autoscaling/v2: the audit's hpa-api-version reports a stored HPA last
// written as autoscaling/v1 from it, and nothing else reads managedFields.
func lastWrite(fields []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	var latest *metav1.ManagedFieldsEntry
	for i := range fields {
		f := &fields[i]
		if f.Subresource != "" || f.APIVersion == "" || f.Time == nil {
			continue
		}
		if latest == nil || latest.Time.Before(f.Time) || (latest.Time.Equal(f.Time) && latest.APIVersion == autoscalingv2.SchemeGroupVersion.String()) {
			latest = f
		}
	}
	if latest == nil || latest.APIVersion == autoscalingv2.SchemeGroupVersion.String() {
		return nil
	}
	return []metav1.ManagedFieldsEntry{{Manager: latest.Manager, Operation: latest.Operation, APIVersion: latest.APIVersion, Time: latest.Time}}
}

// template decodes a workload entry's reduced pod template.
func (e *entry) template() (corev1.PodTemplateSpec, error) {
	var t corev1.PodTemplateSpec
	if err := t.Unmarshal([]byte(e.kept)); err != nil {
		return t, fmt.Errorf("decoding the cached pod template of %s/%s: %w", e.namespace, e.name, err)
	}
	t.Labels = policies.EncodedLabels(e.podLabels).Set()
	return t, nil
}

// pods is what selector-overlap reads of a workload entry.
func (e *entry) pods(kind string) policies.WorkloadPods {
	return policies.WorkloadPods{Kind: kind, Name: e.name, PodLabels: policies.EncodedLabels(e.podLabels), Selector: e.selector}
}

// deployment decodes a workload entry as a Deployment holding only what the
// rules read.
func (e *entry) deployment() (*appsv1.Deployment, error) {
	t, err := e.template()
	if err != nil {
		return nil, err
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: e.objectMeta(),
		Spec:       appsv1.DeploymentSpec{Replicas: copyInt32(e.replicas), Selector: e.labelSelector(), Template: t},
	}, nil
}

// statefulSet decodes a workload entry as a StatefulSet holding only what
// the rules read.
func (e *entry) statefulSet() (*appsv1.StatefulSet, error) {
	t, err := e.template()
	if err != nil {
		return nil, err
	}
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: e.objectMeta(),
		Spec:       appsv1.StatefulSetSpec{Replicas: copyInt32(e.replicas), Selector: e.labelSelector(), Template: t},
	}, nil
}

// workload is the rules' view of a workload entry whose template is t.
func (e *entry) workload(kind string, t corev1.PodTemplateSpec) *policies.Workload {
	w := &policies.Workload{Kind: kind, Meta: e.objectMeta(), Replicas: copyInt32(e.replicas), Template: &t}
	if sel, err := labels.Parse(e.selector); err == nil && e.selector != "" {
		w.Selector = sel
	}
	return w
}

// labelSelector turns the kept selector back into a label selector that
// selects the same pods.
func (e *entry) labelSelector() *metav1.LabelSelector {
	s, err := metav1.ParseToLabelSelector(e.selector)
	if err != nil || e.selector == "" {
		return nil
	}
	return s
}

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	return ptr.To(*p)
}

// horizontalPodAutoscaler decodes an HPA entry.
func (e *entry) horizontalPodAutoscaler() (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if e.hpa == nil {
		return nil, fmt.Errorf("cached %s/%s is not an HPA", e.namespace, e.name)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: e.objectMeta(),
	}
	if err := h.Spec.Unmarshal([]byte(e.kept)); err != nil {
		return nil, fmt.Errorf("decoding the cached spec of HPA %s/%s: %w", e.namespace, e.name, err)
	}
	kind, name := e.hpa.targetKindName()
	h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: e.hpa.targetAPIVersion, Kind: kind, Name: name}
	return h, nil
}
