package policies

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StaticCluster is a Cluster made of objects held in memory: the documents
// `scaleguard check` reads, a test's fixtures, or an audit's snapshot.
type StaticCluster struct {
	limitRanges map[string][]corev1.LimitRange
	workloads   map[string]*Workload
	hpas        map[string][]*autoscalingv2.HorizontalPodAutoscaler
	vpas        map[string][]*VPA
	// MetricsAPIs answers MetricsAPIAvailable; a group it does not list is
	// taken as available, since files say nothing about the API server.
	MetricsAPIs map[string]bool
	// ScalableKinds answers Scalable for kinds that are not built in
	// ("group/Kind"); a kind it does not list is taken as scalable.
	ScalableKinds map[string]bool
}

// NewStaticCluster returns an empty StaticCluster.
func NewStaticCluster() *StaticCluster {
	return &StaticCluster{
		limitRanges: map[string][]corev1.LimitRange{},
		workloads:   map[string]*Workload{},
		hpas:        map[string][]*autoscalingv2.HorizontalPodAutoscaler{},
		vpas:        map[string][]*VPA{},
	}
}

func key(namespace, kind, name string) string { return namespace + "/" + kind + "/" + name }

// AddLimitRange adds a LimitRange.
func (c *StaticCluster) AddLimitRange(lr corev1.LimitRange) {
	c.limitRanges[lr.Namespace] = append(c.limitRanges[lr.Namespace], lr)
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

// LimitRanges implements Cluster.
func (c *StaticCluster) LimitRanges(namespace string) ([]corev1.LimitRange, error) {
	return c.limitRanges[namespace], nil
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
