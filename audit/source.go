package audit

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// Source is everything a scan reads of the cluster, namespace by
// namespace. Workloads come as the rules read them (policies.Workload),
// not as API objects: the cluster view keeps only what the rules read, and
// a Deployment rebuilt from that would look whole to the next reader of the
// audit while its labels, images and status were missing. What each method
// must keep is said on it; anything else may be missing.
//
// cluster.View's AuditSource is the Source of `scaleguard serve`;
// ReaderSource reads whole objects through a client.
type Source interface {
	// Synced reports whether the source is current. No scan starts before:
	// judged against a view that cannot answer yet, every cross-object
	// rule would come back unchecked and requests-required softened.
	Synced() bool
	// Namespaces lists every namespace, with its name and labels (which
	// say whether it opts out: policies.NamespaceExempt).
	Namespaces(ctx context.Context) ([]corev1.Namespace, error)
	// Workloads reads the Deployments and StatefulSets of namespace and its
	// objects of kinds (settings.workloadKinds). A kind the API server does
	// not serve has none.
	Workloads(ctx context.Context, namespace string, kinds []policies.WorkloadKind) ([]Workload, error)
	// HPAs reads the HorizontalPodAutoscalers of namespace with what the
	// rules read of them: name, namespace, uid, scaleguard.io annotations,
	// owner references, the spec and, in managedFields, at least the entry
	// of the latest write when it was not through autoscaling/v2 (which
	// hpa-api-version reports). Their labels and status may be missing.
	HPAs(ctx context.Context, namespace string) ([]autoscalingv2.HorizontalPodAutoscaler, error)
	// ScaledObjects reads KEDA's ScaledObjects of namespace: none when the
	// cluster does not serve them, policies.ErrUnknown while the source
	// does not know yet whether it does or cannot say (not synced, its
	// watch interrupted): the scan then judges the rest.
	ScaledObjects(ctx context.Context, namespace string) ([]*policies.ScaledObject, error)
	// LimitRanges reads the LimitRanges of namespace. The scan asks only
	// when Cluster is nil: a view of the cluster answers them itself.
	LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error)
	// Cluster is what the cross-object rules look up: the webhook's view
	// of the cluster. Nil judges each namespace against a Snapshot of its
	// own objects, which knows no metrics APIs or custom scale kinds.
	Cluster() policies.Cluster
}

// Workload is one stored workload as the rules read it: a Deployment, a
// StatefulSet, or an object of a kind settings.workloadKinds lists, read
// as the webhook reads it (policies.WorkloadFromUnstructured).
type Workload struct {
	// APIVersion is the version it was read in: apps/v1, or the listed one.
	APIVersion string
	// Workload is what the rules judge; its Kind is set even when Err is.
	Workload policies.Workload
	// Err says why it could not be read (a field of the wrong type); the
	// audit reports it as unchecked rather than pass the object.
	Err error
	// Namespace and Name name it even when it could not be read.
	Namespace, Name string
}

// WorkloadOf is the Workload of a whole Deployment or StatefulSet; ok is
// false for any other object.
func WorkloadOf(obj any) (w Workload, ok bool) {
	pw, ok := policies.WorkloadOf(obj)
	if !ok {
		return Workload{}, false
	}
	return Workload{APIVersion: "apps/v1", Workload: pw, Namespace: pw.Meta.Namespace, Name: pw.Meta.Name}, true
}
