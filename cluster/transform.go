package cluster

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// transform runs on every object before it enters an informer's store and
// keeps only what the rules (and the audit reading the same store) need: the
// decoded original, with its managedFields, full pod spec, status and
// last-applied annotation, is dropped at once. Deployments, StatefulSets and
// HPAs become entries; the rarer LimitRanges and Namespaces stay typed,
// reduced.
//
// What it does not recognise (client-go may hand it tombstones, or an
// object it already transformed) it returns unchanged, which makes it
// idempotent, as client-go asks.
func transform(in any) (any, error) {
	switch o := in.(type) {
	case *appsv1.Deployment:
		return workloadEntry(&o.ObjectMeta, o.Spec.Replicas, o.Spec.Selector, &o.Spec.Template)
	case *appsv1.StatefulSet:
		return workloadEntry(&o.ObjectMeta, o.Spec.Replicas, o.Spec.Selector, &o.Spec.Template)
	case *autoscalingv2.HorizontalPodAutoscaler:
		return hpaEntry(o)
	case *corev1.LimitRange:
		return &corev1.LimitRange{ObjectMeta: identity(&o.ObjectMeta), Spec: o.Spec}, nil
	case *corev1.ResourceQuota:
		// Its hard limits and scopes; status.used is the quota controller's
		// and changes with every pod.
		return &corev1.ResourceQuota{ObjectMeta: identity(&o.ObjectMeta), Spec: o.Spec}, nil
	case *policyv1.PodDisruptionBudget:
		// Its selector and budget; the status changes with every pod.
		return &policyv1.PodDisruptionBudget{ObjectMeta: identity(&o.ObjectMeta), Spec: o.Spec}, nil
	case *corev1.Namespace:
		// The labels are what namespace selectors read; a Terminating
		// namespace takes no new objects.
		m := identity(&o.ObjectMeta)
		m.Labels = o.Labels
		return &corev1.Namespace{ObjectMeta: m, Status: corev1.NamespaceStatus{Phase: o.Status.Phase}}, nil
	}
	return in, nil
}

// annotationPrefix marks the annotations kept: the exemptions
// (scaleguard.io/exempt, scaleguard.io/exempt-reason), which the audit reads
// from the cached object; the webhook reads them from the object under
// review.
const annotationPrefix = "scaleguard.io/"

// identity keeps an object's identity and scaleguard's own annotations.
func identity(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		Annotations:     ownAnnotations(m.Annotations),
	}
}

// ownAnnotations keeps the annotations of scaleguard's prefix and of the
// other prefixes given (what the rules read of another project's, such as
// KEDA's).
func ownAnnotations(in map[string]string, prefixes ...string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if strings.HasPrefix(k, annotationPrefix) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// unstructuredIdentity is identity for an object read as unstructured (a
// custom resource): its type, and the annotations of scaleguard's prefix
// and of prefixes.
func unstructuredIdentity(u *unstructured.Unstructured, prefixes ...string) (metav1.TypeMeta, metav1.ObjectMeta) {
	return metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()}, metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
		Annotations: ownAnnotations(u.GetAnnotations(), prefixes...),
	}
}

// transformAPIService keeps the group an APIService serves and its
// Available condition.
func transformAPIService(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return in, nil
	}
	out := &unstructured.Unstructured{}
	out.SetAPIVersion(u.GetAPIVersion())
	out.SetKind(u.GetKind())
	out.SetName(u.GetName())
	out.SetUID(u.GetUID())
	out.SetResourceVersion(u.GetResourceVersion())
	if group, found, _ := unstructured.NestedString(u.Object, "spec", "group"); found {
		_ = unstructured.SetNestedField(out.Object, group, "spec", "group")
	}
	if status, found := availableStatus(u); found {
		_ = unstructured.SetNestedSlice(out.Object, []any{map[string]any{"type": "Available", "status": status}}, "status", "conditions")
	}
	return out, nil
}

// availableStatus is the status of an APIService's Available condition.
func availableStatus(u *unstructured.Unstructured) (string, bool) {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Available" {
			continue
		}
		s, ok := m["status"].(string)
		return s, ok
	}
	return "", false
}
