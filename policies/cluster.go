package policies

import (
	"errors"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// ErrUnknown is returned by a Cluster that cannot answer right now (its
// cache is not synced, or a lookup failed). Rules that need the answer are
// skipped with a warning saying so: scaleguard never denies because of its
// own blind spot.
var ErrUnknown = errors.New("scaleguard's view of the cluster is not available")

// Cluster is what the caller knows of the rest of the cluster: the webhook's
// informer caches, or the objects in the files `scaleguard check` reads. A
// nil Cluster means nothing is known, and the rules that need it are
// silently skipped (the offline default).
type Cluster interface {
	// LimitRanges returns the LimitRanges of a namespace as the API server
	// stores them: defaulted (ApplyLimitRangeDefaults).
	LimitRanges(namespace string) ([]corev1.LimitRange, error)
	// NamespaceLabels returns the labels of a namespace, nil when the
	// namespace is not known.
	NamespaceLabels(namespace string) (map[string]string, error)
	// Workload returns the Deployment or StatefulSet kind/name in namespace,
	// or nil when there is none.
	Workload(namespace, kind, name string) (*Workload, error)
	// HPAsFor returns the HPAs in namespace whose scaleTargetRef names
	// kind/name.
	HPAsFor(namespace, kind, name string) ([]*autoscalingv2.HorizontalPodAutoscaler, error)
	// WorkloadPods returns whose pods each Deployment, StatefulSet and
	// custom workload of a namespace makes and selects.
	WorkloadPods(namespace string) ([]WorkloadPods, error)
	// ScaleTargets returns what each HPA of a namespace scales, without
	// the rest of the HPAs: selector-overlap reads no more, on every HPA
	// review.
	ScaleTargets(namespace string) ([]ScaleTarget, error)
	// VPAsFor returns the VerticalPodAutoscalers in namespace whose
	// targetRef names kind/name; none when the cluster does not serve them.
	VPAsFor(namespace, kind, name string) ([]*VPA, error)
	// ScaledObjectsFor returns the KEDA ScaledObjects in namespace whose
	// scaleTargetRef names kind/name; none when the cluster does not serve
	// them.
	ScaledObjectsFor(namespace, kind, name string) ([]*ScaledObject, error)
	// Scalable reports whether objects of apiVersion/kind have a /scale
	// subresource.
	Scalable(apiVersion, kind string) (bool, error)
	// MetricsAPIAvailable reports whether the aggregated API of group
	// (metrics.k8s.io, custom.metrics.k8s.io, external.metrics.k8s.io) is
	// registered and Available.
	MetricsAPIAvailable(group string) (bool, error)
	// ResourceQuotas returns the ResourceQuotas of a namespace.
	ResourceQuotas(namespace string) ([]corev1.ResourceQuota, error)
	// PodDisruptionBudgets returns the PodDisruptionBudgets of a namespace.
	PodDisruptionBudgets(namespace string) ([]policyv1.PodDisruptionBudget, error)
	// TargetNotFound words target-exists's finding when an HPA's scale
	// target kind/name is not found in namespace, as a fact this view can
	// vouch for: a view of the cluster speaks for the cluster, the files
	// `scaleguard check` reads only for themselves.
	TargetNotFound(kind, namespace, name string) string
}

// TargetNotFoundInCluster is TargetNotFound for a view of the cluster.
func TargetNotFoundInCluster(kind, namespace, name string) string {
	return fmt.Sprintf("%s %q does not exist in namespace %s (yet); until it does the HPA reports FailedGetScale — check the name, or apply the workload too",
		kind, name, namespace)
}

// ScaleTarget is an HPA's name and the kind and name of the workload its
// scaleTargetRef names.
type ScaleTarget struct {
	HPA, Kind, Name string
}

// knownScalable are the built-in kinds whose answer needs no discovery.
var knownScalable = map[string]bool{
	"apps/Deployment": true, "apps/StatefulSet": true, "apps/ReplicaSet": true, "/ReplicationController": true,
	"apps/DaemonSet": false, "batch/Job": false, "batch/CronJob": false, "/Pod": false, "/Service": false,
	"/ConfigMap": false, "/Secret": false,
}

// KnownScalable answers Scalable for built-in kinds; ok is false for kinds
// that need discovery (custom resources).
func KnownScalable(group, kind string) (scalable, ok bool) {
	scalable, ok = knownScalable[group+"/"+kind]
	return scalable, ok
}
