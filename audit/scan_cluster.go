package audit

import (
	"github.com/scaleguard/scaleguard/policies"
)

// scanCluster answers a scan's namespace-wide lookups once per namespace.
// selector-overlap reads the pods of every workload and the target of every
// HPA in an HPA's namespace, which the webhook does once per review; a scan
// judges every HPA of a namespace in turn, and without this would read them
// once per HPA, a cost that grows with the square of the namespace's size.
// The rules only read what they are given, so one answer serves them all.
// Only the last namespace's answers are kept (Scan judges the HPAs
// namespace by namespace): all of them would hold every workload's pods in
// the cluster until the scan ends.
type scanCluster struct {
	policies.Cluster
	workloads map[string]namespaceWorkloads
	hpas      map[string]namespaceHPAs
}

// forget drops the answers of every namespace but ns.
func (c *scanCluster) forget(ns string) {
	for k := range c.workloads {
		if k != ns {
			delete(c.workloads, k)
		}
	}
	for k := range c.hpas {
		if k != ns {
			delete(c.hpas, k)
		}
	}
}

type namespaceWorkloads struct {
	list []policies.WorkloadPods
	err  error
}

type namespaceHPAs struct {
	list []policies.ScaleTarget
	err  error
}

func newScanCluster(c policies.Cluster) *scanCluster {
	return &scanCluster{Cluster: c, workloads: map[string]namespaceWorkloads{}, hpas: map[string]namespaceHPAs{}}
}

// WorkloadPods implements policies.Cluster, once per namespace.
func (c *scanCluster) WorkloadPods(namespace string) ([]policies.WorkloadPods, error) {
	r, ok := c.workloads[namespace]
	if !ok {
		c.forget(namespace)
		r.list, r.err = c.Cluster.WorkloadPods(namespace)
		c.workloads[namespace] = r
	}
	return r.list, r.err
}

// ScaleTargets implements policies.Cluster, once per namespace.
func (c *scanCluster) ScaleTargets(namespace string) ([]policies.ScaleTarget, error) {
	r, ok := c.hpas[namespace]
	if !ok {
		c.forget(namespace)
		r.list, r.err = c.Cluster.ScaleTargets(namespace)
		c.hpas[namespace] = r
	}
	return r.list, r.err
}
