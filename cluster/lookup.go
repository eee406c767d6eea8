package cluster

import (
	"fmt"
	"maps"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
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
	return inNamespace[*corev1.LimitRange](v, limitRanges, namespace)
}

// NamespaceLabels implements policies.Cluster from the Namespace informer,
// which keeps each namespace's labels (transform).
func (v *View) NamespaceLabels(namespace string) (map[string]string, error) {
	if err := v.ready(namespaces); err != nil {
		return nil, err
	}
	obj, exists, err := v.informers[namespaces].GetIndexer().GetByKey(namespace)
	if err != nil || !exists {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %s: cached as %T", namespace, obj)
	}
	return maps.Clone(ns.Labels), nil
}

// Workload implements policies.Cluster. A workload the synced informer
// does not hold is looked up in the API server (see directWorkloads): it
// may have been stored a moment ago, before its watch event reached the
// view. Read on demand (Options.WorkloadsOnDemand), every lookup is.
func (v *View) Workload(namespace, kind, name string) (*policies.Workload, error) {
	var informer string
	switch kind {
	case policies.KindDeployment:
		informer = deployments
	case policies.KindStatefulSet:
		informer = statefulSets
	default:
		// A kind of settings.workloadKinds, from its own informer.
		return v.custom.workload(namespace, kind, name)
	}
	var e *entry
	if !v.onDemand(informer) {
		if err := v.ready(informer); err != nil {
			return nil, err
		}
		var err error
		if e, err = v.entry(informer, namespace+"/"+name); err != nil {
			return nil, err
		}
	}
	if e == nil {
		var err error
		if e, err = v.direct.get(informer, namespace, name); err != nil || e == nil {
			return nil, err
		}
	}
	t, err := e.template()
	if err != nil {
		return nil, err
	}
	return e.workload(kind, t), nil
}

// WorkloadPods implements policies.Cluster: the Deployments, StatefulSets
// and custom workloads (settings.workloadKinds) of namespace, from what the
// entries keep apart, decoding no pod template.
func (v *View) WorkloadPods(namespace string) ([]policies.WorkloadPods, error) {
	var out []policies.WorkloadPods
	for _, w := range []struct{ informer, kind string }{{deployments, policies.KindDeployment}, {statefulSets, policies.KindStatefulSet}} {
		entries, err := v.workloadEntries(w.informer, namespace)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			out = append(out, e.pods(w.kind))
		}
	}
	custom, err := v.custom.workloads(namespace)
	if err != nil {
		return nil, err
	}
	for _, w := range custom {
		out = append(out, policies.PodsOf(w))
	}
	return out, nil
}

// workloadEntries are the entries of informer (deployments or
// statefulsets) in namespace, from the informer or, read on demand, from
// the API server.
func (v *View) workloadEntries(informer, namespace string) ([]*entry, error) {
	if v.onDemand(informer) {
		return v.direct.list(informer, namespace)
	}
	if err := v.ready(informer); err != nil {
		return nil, err
	}
	objs, err := v.informers[informer].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", informer, namespace, err)
	}
	out := make([]*entry, 0, len(objs))
	for _, o := range objs {
		if e, ok := o.(*entry); ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// ScaleTargets implements policies.Cluster from the entries' kept target,
// decoding no HPA.
func (v *View) ScaleTargets(namespace string) ([]policies.ScaleTarget, error) {
	if err := v.ready(hpas); err != nil {
		return nil, err
	}
	objs, err := v.informers[hpas].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing the HPAs of %s: %w", namespace, err)
	}
	out := make([]policies.ScaleTarget, 0, len(objs))
	for _, o := range objs {
		if e, ok := o.(*entry); ok && e.hpa != nil {
			kind, name := e.hpa.targetKindName()
			out = append(out, policies.ScaleTarget{HPA: e.name, Kind: kind, Name: name})
		}
	}
	return out, nil
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

// HPAsFor implements policies.Cluster, from the informer alone. Unlike
// Workload it cannot tell a miss: no HPA is the usual answer (a workload
// without autoscaling), and the one to doubt only when the workload is
// reviewed a moment after its HPA was stored. Checking with a LIST of the
// namespace's HPAs would cost the API server a LIST on every workload
// review that finds none, the frequent write (each rollout, each GitOps
// sync), to catch the rare one. What is lost: when the HPA is applied just
// before its workload (Helm installs HPAs after Deployments but before
// StatefulSets; kubectl follows file order), target-requests and
// utilization-reachable may not judge the pair at admission; the audit
// does on its next scan. docs/operations.md says the same.
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

// ScaledObjectsFor implements policies.Cluster.
func (v *View) ScaledObjectsFor(namespace, kind, name string) ([]*policies.ScaledObject, error) {
	return v.sos.scaledObjectsFor(namespace, kind, name)
}

// ScaledObjects returns the ScaledObjects the view holds in namespace, for
// the audit; none when the cluster does not serve them.
func (v *View) ScaledObjects(namespace string) ([]*policies.ScaledObject, error) {
	return v.sos.in(namespace)
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

// ResourceQuotas implements policies.Cluster.
func (v *View) ResourceQuotas(namespace string) ([]corev1.ResourceQuota, error) {
	return inNamespace[*corev1.ResourceQuota](v, quotas, namespace)
}

// PodDisruptionBudgets implements policies.Cluster.
func (v *View) PodDisruptionBudgets(namespace string) ([]policyv1.PodDisruptionBudget, error) {
	return inNamespace[*policyv1.PodDisruptionBudget](v, pdbs, namespace)
}

// inNamespace copies what informer holds in namespace, for the kinds the
// view keeps typed.
func inNamespace[P interface {
	*T
	DeepCopy() P
}, T any](v *View, informer, namespace string) ([]T, error) {
	if err := v.ready(informer); err != nil {
		return nil, err
	}
	objs, err := v.informers[informer].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", informer, namespace, err)
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(P); ok {
			out = append(out, *p.DeepCopy())
		}
	}
	return out, nil
}

// TargetNotFound implements policies.Cluster: the view speaks for the
// cluster.
func (v *View) TargetNotFound(kind, namespace, name string) string {
	return policies.TargetNotFoundInCluster(kind, namespace, name)
}
