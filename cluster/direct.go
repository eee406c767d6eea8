package cluster

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
)

// Results of a direct lookup, as the metric's result label says them.
const (
	directFound    = "found"
	directNotFound = "not_found"
	directError    = "error"
)

// directWorkloads looks up in the API server itself a Deployment or
// StatefulSet the synced informer does not hold. Objects applied together
// (`kubectl apply -f dir/`, Helm, Argo CD) arrive milliseconds apart, and
// an HPA's review can come before the watch event of the target stored just
// before it: without a second look, target-exists would warn about a target
// that exists, and target-requests, utilization-reachable and cost-ceiling
// would be skipped. KEDA's ScaledObject webhook does the same
// (--cache-miss-to-direct-client). The HPA controller itself reads the
// target from the API server, not from a cache (reconcileAutoscaler →
// scaleForResourceMappings, pkg/controller/podautoscaler/horizontal.go), so
// the direct answer is the one the controller will get.
//
// A miss is the rare case (a target applied a moment ago, or a typo), so
// the GET costs the API server little. It goes through the view's protobuf
// clientset and the informers' transform, so the rules get the same reduced
// object as from the cache. It is bounded by liveCalls: a failure or a
// timeout answers policies.ErrUnknown, and the rules are skipped with a
// warning, never a denial.
//
// HPAsFor has no such second look: see View.HPAsFor.
type directWorkloads struct {
	client appsv1client.AppsV1Interface
	calls  *liveCalls
	// lookups counts the lookups tried, by resource and result; one not
	// tried (within liveBackoff of a failure) is not counted.
	lookups *prometheus.CounterVec
	// lists are the namespaces' workloads read on demand (see list).
	lists namespaceLists
}

func newDirectLookups() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scaleguard_cluster_view_direct_lookups_total",
		Help: "Workloads the cluster view's synced informer did not hold, looked up in the API server itself (an HPA applied together with its target), by resource and result (found, not_found, error).",
	}, []string{"resource", "result"})
	// Every series exists from the start, so that a rate or an alert on
	// errors has a zero to start from.
	for _, r := range []string{deployments, statefulSets} {
		for _, res := range []string{directFound, directNotFound, directError} {
			c.WithLabelValues(r, res)
		}
	}
	return c
}

// get returns the entry of namespace/name of resource (deployments or
// statefulsets) as the informer would hold it, or nil when the API server
// has none.
func (d *directWorkloads) get(resource, namespace, name string) (*entry, error) {
	var e *entry
	tried, err := d.calls.do(fmt.Sprintf("looking up %s %s/%s in the API server", resource, namespace, name), func(ctx context.Context) error {
		var err error
		e, err = getEntry(ctx, d.client, resource, namespace, name)
		return err
	})
	switch {
	case err != nil:
		if tried {
			d.lookups.WithLabelValues(resource, directError).Inc()
		}
		return nil, err
	case e == nil:
		d.lookups.WithLabelValues(resource, directNotFound).Inc()
		return nil, nil
	}
	d.lookups.WithLabelValues(resource, directFound).Inc()
	return e, nil
}

// getEntry reads namespace/name of resource (deployments or statefulsets)
// from the API server and reduces it to the entry an informer would hold;
// nil when there is none.
func getEntry(ctx context.Context, c appsv1client.AppsV1Interface, resource, namespace, name string) (*entry, error) {
	var obj any
	var err error
	switch resource {
	case deployments:
		obj, err = c.Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	case statefulSets:
		obj, err = c.StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	default:
		return nil, fmt.Errorf("no direct lookup of %s", resource)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := transform(obj)
	if err != nil {
		return nil, err
	}
	e, ok := t.(*entry)
	if !ok {
		return nil, fmt.Errorf("%s %s/%s: transformed into %T", resource, namespace, name, t)
	}
	return e, nil
}
