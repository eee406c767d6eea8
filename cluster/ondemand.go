package cluster

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
)

// Workloads read on demand (Options.WatchWorkloads false): the view keeps
// no Deployment or StatefulSet informer. Every workload write in the
// cluster, a status update included, would otherwise reach scaleguard as a
// watch event (decoded, reduced and stored: about 0.1 ms of its CPU each,
// plus the API server's work to send it), for the sake of the rules that
// read a workload while judging an HPA, a VPA or a ScaledObject, and of the
// audit. Read on demand instead:
//
//   - a scale target is a GET (directWorkloads.get), as the HPA controller
//     itself reads it, fresh;
//   - the workloads of a namespace (selector-overlap) are a LIST of its
//     Deployments and StatefulSets, each within liveTimeout;
//   - the audit lists each namespace's workloads at each scan.
//
// So the cost moves from every workload write to every HPA write that
// needs a workload, and from memory (no workload is held) to one list of
// every workload per audit scan. The HPAs, LimitRanges, Namespaces and the
// rest stay watched: a workload's review needs the HPAs scaling it, which
// only a list of the namespace's HPAs could otherwise find. Custom
// workload kinds (settings.workloadKinds) stay watched too.

// workloadResources are the informers on-demand mode leaves out.
var workloadResources = []string{deployments, statefulSets}

// onDemand reports whether the view reads resource (deployments or
// statefulsets) from the API server rather than an informer.
func (v *View) onDemand(resource string) bool {
	_, watched := v.informers[resource]
	return !watched && (resource == deployments || resource == statefulSets)
}

// listEntries lists the Deployments or StatefulSets of namespace and reduces
// each to the entry an informer would hold.
func listEntries(ctx context.Context, c appsv1client.AppsV1Interface, resource, namespace string) ([]*entry, error) {
	var objs []any
	switch resource {
	case deployments:
		l, err := c.Deployments(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			objs = append(objs, &l.Items[i])
		}
	case statefulSets:
		l, err := c.StatefulSets(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			objs = append(objs, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("no list of %s", resource)
	}
	out := make([]*entry, 0, len(objs))
	for _, o := range objs {
		t, err := transform(o)
		if err != nil {
			return nil, err
		}
		e, ok := t.(*entry)
		if !ok {
			return nil, fmt.Errorf("%s of %s: transformed into %T", resource, namespace, t)
		}
		out = append(out, e)
	}
	return out, nil
}

// list is listEntries within liveTimeout and liveBackoff, for a review.
func (d *directWorkloads) list(resource, namespace string) ([]*entry, error) {
	var out []*entry
	_, err := d.calls.do(fmt.Sprintf("listing the %s of %s in the API server", resource, namespace), func(ctx context.Context) error {
		var err error
		out, err = listEntries(ctx, d.client, resource, namespace)
		return err
	})
	return out, err
}
