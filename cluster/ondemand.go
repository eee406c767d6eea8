package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

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
//     Deployments and StatefulSets, each within liveTimeout, shared by the
//     reviews of the next namespaceListTTL (see namespaceLists);
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
	list, err := c.RESTClient().Get().Namespace(namespace).Resource(resource).Do(ctx).Get()
	if err != nil {
		return nil, err
	}
	items, err := reducedItems(resource, list)
	if err != nil {
		return nil, err
	}
	out := make([]*entry, 0, len(items))
	for _, t := range items {
		e, ok := t.(*entry)
		if !ok {
			return nil, fmt.Errorf("%s of %s: transformed into %T", resource, namespace, t)
		}
		out = append(out, e)
	}
	return out, nil
}

// namespaceListTTL is how long one LIST of a namespace's workloads answers
// the reviews that need it. HPAs are often written many at a time (a
// chart, a GitOps sync, a benchmark's thousand in one namespace), and a
// LIST per review of a namespace of N workloads would cost the API server
// N objects each time: measured, 1,000 HPA creates beside 1,000
// Deployments went from 860 to 17 a second. Within the TTL a review may
// miss a workload written less than that before it; the target itself is
// always read fresh (directWorkloads.get).
const namespaceListTTL = 2 * time.Second

// namespaceLists keeps the last LIST of each resource and namespace for
// namespaceListTTL, and makes the reviews that miss it at the same moment
// share one call.
type namespaceLists struct {
	now    func() time.Time
	flight singleflight.Group

	mu   sync.Mutex
	last map[string]namespaceList
}

type namespaceList struct {
	entries []*entry
	at      time.Time
}

// get returns the entries of key listed within namespaceListTTL, or those
// list returns now.
func (n *namespaceLists) get(key string, list func() ([]*entry, error)) ([]*entry, error) {
	now := n.now()
	n.mu.Lock()
	l, ok := n.last[key]
	if len(n.last) > 1000 {
		// A sweep now and then keeps only the namespaces listed lately.
		for k, l := range n.last {
			if now.Sub(l.at) >= namespaceListTTL {
				delete(n.last, k)
			}
		}
	}
	n.mu.Unlock()
	if ok && now.Sub(l.at) < namespaceListTTL {
		return l.entries, nil
	}
	v, err, _ := n.flight.Do(key, func() (any, error) {
		entries, err := list()
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		if n.last == nil {
			n.last = map[string]namespaceList{}
		}
		n.last[key] = namespaceList{entries: entries, at: now}
		n.mu.Unlock()
		return entries, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]*entry), nil
}

// list is listEntries within liveTimeout and liveBackoff, for a review,
// shared through d.lists. Entries are immutable: every reader decodes its
// own objects from them.
func (d *directWorkloads) list(resource, namespace string) ([]*entry, error) {
	return d.lists.get(resource+"/"+namespace, func() ([]*entry, error) {
		var out []*entry
		_, err := d.calls.do(fmt.Sprintf("listing the %s of %s in the API server", resource, namespace), func(ctx context.Context) error {
			var err error
			out, err = listEntries(ctx, d.client, resource, namespace)
			return err
		})
		return out, err
	})
}
