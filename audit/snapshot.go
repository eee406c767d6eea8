package audit

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// Snapshot returns the cluster view made of objs alone: their workloads,
// HPAs, LimitRanges, Namespaces, VerticalPodAutoscalers and ScaledObjects.
// It knows nothing of the API server, so metrics-available and the kind
// check of custom resources take everything as served; give Scan the
// webhook's informer-backed view for those.
func Snapshot(objs Objects) *policies.StaticCluster {
	c := policies.NewStaticCluster()
	for i := range objs.LimitRanges {
		c.AddLimitRange(objs.LimitRanges[i])
	}
	for i := range objs.Namespaces {
		c.AddNamespace(objs.Namespaces[i])
	}
	for i := range objs.Workloads {
		if objs.Workloads[i].Err == nil {
			c.AddWorkload(objs.Workloads[i].Workload)
		}
	}
	for i := range objs.HPAs {
		c.AddHPA(&objs.HPAs[i])
	}
	for _, v := range objs.VPAs {
		c.AddVPA(v)
	}
	for _, so := range objs.ScaledObjects {
		c.AddScaledObject(so)
	}
	return c
}

// writtenAs is the apiVersion through which a client last wrote the HPA's
// spec, when it is not autoscaling/v2; empty otherwise. The webhook reads it
// from request.requestKind; for a stored object, managedFields records the
// version of every write. Only the latest write counts: a file moved to v2
// stops being reported at its next apply. The status subresource is the
// HPA controller's and is ignored. Without managedFields hpa-api-version is
// silent in the audit, which is why a Source keeps that entry (Source.HPAs).
func writtenAs(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var latest *metav1.ManagedFieldsEntry
	for i := range hpa.ManagedFields {
		e := &hpa.ManagedFields[i]
		if e.Subresource != "" || e.APIVersion == "" || e.Time == nil {
			continue
		}
		if latest == nil || latest.Time.Before(e.Time) ||
			(latest.Time.Equal(e.Time) && latest.APIVersion == "autoscaling/v2") {
			// On a tie (times are in seconds), an old version wins: a v1
			// write is the one worth reporting.
			latest = e
		}
	}
	if latest == nil || latest.APIVersion == "autoscaling/v2" {
		return ""
	}
	return latest.APIVersion
}
