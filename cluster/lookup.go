package cluster

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/scaleguard/scaleguard/policies"
)

// The lookups read the informers' memory and decode fresh objects: the rules
// may keep or change what they get.

// LimitRanges implements policies.Cluster. Until its informer has synced,
// it asks the API server (see liveLimitRanges).
func (v *View) LimitRanges(namespace string) ([]corev1.LimitRange, error) {
	if v.ready(limitRanges) != nil {
		return v.live.list(namespace)
	}
	objs, err := v.informers[limitRanges].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing LimitRanges in %s: %w", namespace, err)
	}
	out := make([]corev1.LimitRange, 0, len(objs))
	for _, o := range objs {
		if lr, ok := o.(*corev1.LimitRange); ok {
			out = append(out, *lr.DeepCopy())
		}
	}
	return out, nil
}

// Workload implements policies.Cluster.
func (v *View) Workload(namespace, kind, name string) (*policies.Workload, error) {
	var informer string
	switch kind {
	case policies.KindDeployment:
		informer = deployments
	case policies.KindStatefulSet:
		informer = statefulSets
	default:
		return nil, fmt.Errorf("the cluster view holds Deployments and StatefulSets, not %s", kind)
	}
	if err := v.ready(informer); err != nil {
		return nil, err
	}
	e, err := v.entry(informer, namespace+"/"+name)
	if err != nil || e == nil {
		return nil, err
	}
	spec, err := e.podSpec()
	if err != nil {
		return nil, err
	}
	return &policies.Workload{Kind: kind, Meta: e.objectMeta(), Replicas: copyInt32(e.replicas),
		Template: &corev1.PodTemplateSpec{Spec: spec}}, nil
}

// entry is the entry stored under key, or nil.
func (v *View) entry(informer, key string) (*entry, error) {
	obj, exists, err := v.informers[informer].GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, err
	}
	e, ok := obj.(*entry)
	if !ok {
		return nil, fmt.Errorf("%s %s: cached as %T", informer, key, obj)
	}
	return e, nil
}

// HPAsFor implements policies.Cluster.
func (v *View) HPAsFor(namespace, kind, name string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	if err := v.ready(hpas); err != nil {
		return nil, err
	}
	return hpasFor(v.informers[hpas].GetIndexer(), namespace, kind, name)
}

// hpasFor scans the HPAs of namespace for those scaling kind/name.
func hpasFor(idx toolscache.Indexer, namespace, kind, name string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	objs, err := idx.ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing the HPAs of %s %s/%s: %w", kind, namespace, name, err)
	}
	target := targetKey(kind, name)
	var out []*autoscalingv2.HorizontalPodAutoscaler
	for _, o := range objs {
		e, ok := o.(*entry)
		if !ok || e.hpa == nil || e.hpa.target != target {
			continue
		}
		h, err := e.horizontalPodAutoscaler()
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// VPAsFor implements policies.Cluster.
func (v *View) VPAsFor(namespace, kind, name string) ([]*policies.VPA, error) {
	return v.vpa.vpasFor(namespace, kind, name)
}

// Scalable implements policies.Cluster through API discovery.
func (v *View) Scalable(apiVersion, kind string) (bool, error) {
	// Discovery needs no informer, but waits until the API server has
	// answered the view once: before that, nothing is known.
	if err := v.ready(hpas); err != nil {
		return false, err
	}
	return v.scale.scalable(apiVersion, kind)
}

// MetricsAPIAvailable implements policies.Cluster: some APIService serving
// group (v1beta1.metrics.k8s.io, v1beta2.custom.metrics.k8s.io, …) is
// registered and Available.
func (v *View) MetricsAPIAvailable(group string) (bool, error) {
	if err := v.ready(apiServices); err != nil {
		return false, err
	}
	for _, o := range v.informers[apiServices].GetStore().List() {
		s, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		g, _, _ := unstructured.NestedString(s.Object, "spec", "group")
		if status, _ := availableStatus(s); g == group && status == "True" {
			return true, nil
		}
	}
	return false, nil
}
