package policies

import (
	"fmt"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StaticCluster is a Cluster made of objects held in memory: the documents
// `scaleguard check` reads, a test's fixtures, or an audit's snapshot.
type StaticCluster struct {
	limitRanges map[string][]corev1.LimitRange
	namespaces  map[string]map[string]string
	workloads   map[string]*Workload
	hpas        map[string][]*autoscalingv2.HorizontalPodAutoscaler
	quotas      map[string][]corev1.ResourceQuota
	pdbs        map[string][]policyv1.PodDisruptionBudget
	vpas        map[string][]*VPA
	sos         map[string][]*ScaledObject
	// MetricsAPIs answers MetricsAPIAvailable; a group it does not list is
	// taken as available, since files say nothing about the API server.
	MetricsAPIs map[string]bool
	// ScalableKinds answers Scalable for kinds that are not built in
	// ("group/Kind"); a kind it does not list is taken as scalable.
	ScalableKinds map[string]bool
	// files says the objects are the files `scaleguard check` reads, not a
	// snapshot of a cluster: what is missing from them may well exist.
	files bool
}

// NewStaticCluster returns an empty StaticCluster that stands for a cluster
// (an audit's snapshot, a test's fixtures).
func NewStaticCluster() *StaticCluster {
	return &StaticCluster{
		limitRanges: map[string][]corev1.LimitRange{},
		namespaces:  map[string]map[string]string{},
		workloads:   map[string]*Workload{},
		hpas:        map[string][]*autoscalingv2.HorizontalPodAutoscaler{},
		quotas:      map[string][]corev1.ResourceQuota{},
		pdbs:        map[string][]policyv1.PodDisruptionBudget{},
		vpas:        map[string][]*VPA{},
		sos:         map[string][]*ScaledObject{},
	}
}

// NewFilesCluster returns an empty StaticCluster that stands for a set of
// manifest files: it says what it does not hold as a fact about the files.
func NewFilesCluster() *StaticCluster {
	c := NewStaticCluster()
	c.files = true
	return c
}

func key(namespace, kind, name string) string { return namespace + "/" + kind + "/" + name }

// AddLimitRange adds a LimitRange, defaulted as the API server stores it
// (ApplyLimitRangeDefaults): a file's LimitRange with only max fills requests
// offline exactly as the stored one does in the cluster.
func (c *StaticCluster) AddLimitRange(lr corev1.LimitRange) {
	lr = *lr.DeepCopy()
	ApplyLimitRangeDefaults(&lr)
	c.limitRanges[lr.Namespace] = append(c.limitRanges[lr.Namespace], lr)
}

// AddResourceQuota adds a ResourceQuota.
func (c *StaticCluster) AddResourceQuota(q corev1.ResourceQuota) {
	c.quotas[q.Namespace] = append(c.quotas[q.Namespace], q)
}

// AddPodDisruptionBudget adds a PodDisruptionBudget.
func (c *StaticCluster) AddPodDisruptionBudget(p policyv1.PodDisruptionBudget) {
	c.pdbs[p.Namespace] = append(c.pdbs[p.Namespace], p)
}

// AddNamespace adds a Namespace; its labels say whether it opts out
// (NamespaceExempt).
func (c *StaticCluster) AddNamespace(ns corev1.Namespace) {
	c.namespaces[ns.Name] = ns.Labels
}

// AddWorkload adds a Deployment or StatefulSet.
func (c *StaticCluster) AddWorkload(w Workload) {
	c.workloads[key(w.Meta.Namespace, w.Kind, w.Meta.Name)] = &w
}

// AddHPA adds an HPA.
func (c *StaticCluster) AddHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	ref := hpa.Spec.ScaleTargetRef
	k := key(hpa.Namespace, ref.Kind, ref.Name)
	c.hpas[k] = append(c.hpas[k], hpa)
}

// AddVPA adds a VerticalPodAutoscaler; one without a targetRef targets
// nothing.
func (c *StaticCluster) AddVPA(v *VPA) {
	if ref := v.Spec.TargetRef; ref != nil {
		k := key(v.Namespace, ref.Kind, ref.Name)
		c.vpas[k] = append(c.vpas[k], v)
	}
}

// AddScaledObject adds a KEDA ScaledObject; one without a scaleTargetRef
// targets nothing.
func (c *StaticCluster) AddScaledObject(so *ScaledObject) {
	if kind, name, ok := so.Target(); ok {
		k := key(so.Namespace, kind, name)
		c.sos[k] = append(c.sos[k], so)
	}
}

// LimitRanges implements Cluster.
func (c *StaticCluster) LimitRanges(namespace string) ([]corev1.LimitRange, error) {
	return c.limitRanges[namespace], nil
}

// NamespaceLabels implements Cluster.
func (c *StaticCluster) NamespaceLabels(namespace string) (map[string]string, error) {
	return c.namespaces[namespace], nil
}

// Workload implements Cluster.
func (c *StaticCluster) Workload(namespace, kind, name string) (*Workload, error) {
	return c.workloads[key(namespace, kind, name)], nil
}

// HPAsFor implements Cluster.
func (c *StaticCluster) HPAsFor(namespace, kind, name string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	return c.hpas[key(namespace, kind, name)], nil
}

// VPAsFor implements Cluster.
func (c *StaticCluster) VPAsFor(namespace, kind, name string) ([]*VPA, error) {
	return c.vpas[key(namespace, kind, name)], nil
}

// ScaledObjectsFor implements Cluster.
func (c *StaticCluster) ScaledObjectsFor(namespace, kind, name string) ([]*ScaledObject, error) {
	return c.sos[key(namespace, kind, name)], nil
}

// Scalable implements Cluster.
func (c *StaticCluster) Scalable(apiVersion, kind string) (bool, error) {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	if ok, listed := c.ScalableKinds[gv.Group+"/"+kind]; listed {
		return ok, nil
	}
	return true, nil
}

// MetricsAPIAvailable implements Cluster.
func (c *StaticCluster) MetricsAPIAvailable(group string) (bool, error) {
	if ok, listed := c.MetricsAPIs[group]; listed {
		return ok, nil
	}
	return true, nil
}

// ResourceQuotas implements Cluster.
func (c *StaticCluster) ResourceQuotas(namespace string) ([]corev1.ResourceQuota, error) {
	return c.quotas[namespace], nil
}

// PodDisruptionBudgets implements Cluster.
func (c *StaticCluster) PodDisruptionBudgets(namespace string) ([]policyv1.PodDisruptionBudget, error) {
	return c.pdbs[namespace], nil
}

// WorkloadPods implements Cluster, in key order.
func (c *StaticCluster) WorkloadPods(namespace string) ([]WorkloadPods, error) {
	var keys []string
	for k, w := range c.workloads {
		if w.Meta.Namespace == namespace {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]WorkloadPods, len(keys))
	for i, k := range keys {
		out[i] = PodsOf(c.workloads[k])
	}
	return out, nil
}

// ScaleTargets implements Cluster, in target order.
func (c *StaticCluster) ScaleTargets(namespace string) ([]ScaleTarget, error) {
	var keys []string
	for k, hs := range c.hpas {
		if len(hs) > 0 && hs[0].Namespace == namespace {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []ScaleTarget
	for _, k := range keys {
		for _, h := range c.hpas[k] {
			ref := h.Spec.ScaleTargetRef
			out = append(out, ScaleTarget{HPA: h.Name, Kind: ref.Kind, Name: ref.Name})
		}
	}
	return out, nil
}

// TargetNotFound implements Cluster. Files say nothing of the cluster, nor
// of a namespace they do not name.
func (c *StaticCluster) TargetNotFound(kind, namespace, name string) string {
	if !c.files {
		return TargetNotFoundInCluster(kind, namespace, name)
	}
	where := ""
	if namespace != "" {
		where = " in namespace " + namespace
	}
	return fmt.Sprintf("%s %q%s is not among the files checked; unless it exists in the cluster, the HPA reports FailedGetScale — check the name, or pass the workload's manifest to check too",
		kind, name, where)
}
