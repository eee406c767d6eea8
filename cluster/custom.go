package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/scaleguard/scaleguard/policies"
)

// How often the custom workload informers are put in step with the
// settings, and how often a listed kind the API server does not serve is
// looked for again in discovery (its CRD may be installed later).
const (
	customReconcile   = time.Second
	customRediscovery = 30 * time.Second
)

// customWorkloads are the view's watches of the custom kinds
// settings.workloadKinds lists (Argo Rollouts, OpenKruise CloneSets, …): a
// dynamic informer per listed kind the API server serves, holding the same
// reduced entries as the Deployment informer (transformCustomWorkload). The
// set follows the settings while scaleguard runs: an informer starts when a
// kind is listed and its CRD is served, and stops when the kind is no
// longer listed.
//
// They are apart from the fixed informers because their set changes: the
// view's Synced is about the fixed ones, and a listed kind whose CRD is
// absent never blocks it.
type customWorkloads struct {
	dyn      dynamic.Interface
	discover *scaleDiscovery
	// listed reads the kinds the settings in force list; nil lists none.
	listed func() []policies.WorkloadKind
	direct *directWorkloads
	log    logr.Logger

	mu     sync.RWMutex
	byKind map[string]*customInformer
}

// customInformer is one listed kind: its informer, nil while the API
// server does not serve the kind.
type customInformer struct {
	kind     policies.WorkloadKind
	informer toolscache.SharedIndexInformer
	// health says whether the informer's store is current (watchHealth).
	health *watchHealth
	stop   context.CancelFunc
	// lookedUp is when discovery was last asked about an unserved kind.
	lookedUp time.Time
}

// run keeps the informers in step with the settings until ctx ends.
func (c *customWorkloads) run(ctx context.Context) {
	tick := time.NewTicker(customReconcile)
	defer tick.Stop()
	for {
		c.reconcile(ctx, time.Now())
		select {
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			for k, ci := range c.byKind {
				if ci.stop != nil {
					ci.stop()
				}
				delete(c.byKind, k)
			}
			return
		case <-tick.C:
		}
	}
}

// reconcile starts an informer for each listed kind that is served and has
// none, and stops those of kinds no longer listed (or listed in another
// version or resource).
func (c *customWorkloads) reconcile(ctx context.Context, now time.Time) {
	var want []policies.WorkloadKind
	if c.listed != nil {
		want = c.listed()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, ci := range c.byKind {
		if !slices.Contains(want, ci.kind) {
			if ci.stop != nil {
				ci.stop()
			}
			delete(c.byKind, name)
			c.log.Info("stopped watching a custom workload kind no longer listed", "kind", ci.kind.APIVersion()+"/"+ci.kind.Kind)
		}
	}
	for _, k := range want {
		ci := c.byKind[k.Kind]
		if ci == nil {
			ci = &customInformer{kind: k}
			c.byKind[k.Kind] = ci
		}
		if ci.informer != nil || (!ci.lookedUp.IsZero() && now.Sub(ci.lookedUp) < customRediscovery) {
			continue
		}
		ci.lookedUp = now
		if err := c.served(k); err != nil {
			c.log.Info("not watching a listed custom workload kind: the API server does not serve it", "kind", k.APIVersion()+"/"+k.Kind, "reason", err.Error())
			continue
		}
		informer, health, err := c.newInformer(k)
		if err != nil {
			c.log.Error(err, "cannot watch a listed custom workload kind", "kind", k.APIVersion()+"/"+k.Kind)
			continue
		}
		ictx, stop := context.WithCancel(ctx)
		ci.informer, ci.health, ci.stop = informer, health, stop
		go informer.RunWithContext(ictx)
		c.log.Info("watching a listed custom workload kind", "kind", k.APIVersion()+"/"+k.Kind, "resource", k.Resource)
	}
}

// served reports, as an error, why the API server does not serve k.
func (c *customWorkloads) served(k policies.WorkloadKind) error {
	list, _, err := c.discover.list(k.APIVersion(), true)
	if err != nil {
		return err
	}
	for _, r := range list.APIResources {
		if r.Name == k.Resource && r.Kind == k.Kind {
			return nil
		}
	}
	return fmt.Errorf("%s serves no resource %s of kind %s", k.APIVersion(), k.Resource, k.Kind)
}

func (c *customWorkloads) newInformer(k policies.WorkloadKind) (toolscache.SharedIndexInformer, *watchHealth, error) {
	resource := c.dyn.Resource(k.GroupVersionResource())
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return resource.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return resource.Watch(ctx, o)
		},
	}
	health := newWatchHealth(k.Resource, c.log)
	health.track(lw)
	informer := toolscache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	if err := informer.SetTransform(transformCustomWorkload(k)); err != nil {
		return nil, nil, err
	}
	return informer, health, nil
}

// state is what the view knows of kind: ci is nil when the kind is not
// listed (as far as the view has seen the settings).
func (c *customWorkloads) state(kind string) (ci customInformer, listed bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.byKind[kind]
	if p == nil {
		return customInformer{}, false
	}
	return *p, true
}

// ready returns the informer of a listed, served and synced kind, or why
// there is none: an error saying the kind is not listed or not served, or
// policies.ErrUnknown until its informer has synced and while its watch is
// interrupted.
func (c *customWorkloads) ready(kind string) (customInformer, error) {
	ci, listed := c.state(kind)
	switch {
	case !listed:
		return ci, fmt.Errorf("the cluster view holds Deployments, StatefulSets and the kinds of settings.workloadKinds, not %s", kind)
	case ci.informer == nil:
		return ci, fmt.Errorf("%s %s is not served by the API server: install its CRD, or remove it from settings.workloadKinds", ci.kind.APIVersion(), kind)
	}
	return ci, informerReady(ci.kind.Resource, ci.informer, ci.health)
}

// workload looks up a custom workload, and on a miss asks the API server
// (directWorkloads: it may have been stored a moment ago).
func (c *customWorkloads) workload(namespace, kind, name string) (*policies.Workload, error) {
	ci, err := c.ready(kind)
	if err != nil {
		return nil, err
	}
	stored, exists, err := ci.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil {
		return nil, err
	}
	if !exists {
		if stored, err = c.direct.getCustom(c.dyn, ci.kind, namespace, name); err != nil || stored == nil {
			return nil, err
		}
	}
	return customWorkload(ci.kind, stored)
}

// workloads lists the custom workloads of namespace, of every listed kind
// the API server serves.
func (c *customWorkloads) workloads(namespace string) ([]*policies.Workload, error) {
	c.mu.RLock()
	kinds := make([]string, 0, len(c.byKind))
	for k, ci := range c.byKind {
		if ci.informer != nil {
			kinds = append(kinds, k)
		}
	}
	c.mu.RUnlock()
	slices.Sort(kinds)
	var out []*policies.Workload
	for _, kind := range kinds {
		ci, err := c.ready(kind)
		if err != nil {
			return nil, err
		}
		objs, err := ci.informer.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", ci.kind.Resource, namespace, err)
		}
		for _, o := range objs {
			// One object that cannot be read leaves the others judged; it
			// is reported where it is the target or the object reviewed.
			if w, err := customWorkload(ci.kind, o); err == nil {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// customWorkload is the rules' view of what a custom informer stores.
func customWorkload(k policies.WorkloadKind, stored any) (*policies.Workload, error) {
	switch o := stored.(type) {
	case *entry:
		t, err := o.template()
		if err != nil {
			return nil, err
		}
		return o.workload(k.Kind, t), nil
	case *unstructured.Unstructured:
		// Kept whole because it could not be read (transformCustomWorkload):
		// reading it again gives the error, which names the field.
		w, err := policies.WorkloadFromUnstructured(k, o.Object)
		if err != nil {
			return nil, err
		}
		return &w, nil
	}
	return nil, fmt.Errorf("%s: unexpected cached object %T", k.Resource, stored)
}

// transformCustomWorkload reduces an object of custom workload kind k to
// the entry a Deployment becomes. An object whose fields cannot be read as
// a Deployment's (replicas that are no number, a request that is no
// quantity) is kept whole, without its managedFields, rather than fail the
// transform: client-go would then fail the whole list and the informer
// would never sync. Its lookups answer the reading error.
func transformCustomWorkload(k policies.WorkloadKind) toolscache.TransformFunc {
	return func(in any) (any, error) {
		u, ok := in.(*unstructured.Unstructured)
		if !ok {
			return in, nil
		}
		w, err := policies.WorkloadFromUnstructured(k, u.Object)
		if err != nil {
			u.SetManagedFields(nil)
			return u, nil
		}
		e, err := workloadEntry(&w.Meta, w.Replicas, nil, w.Template)
		if err != nil {
			return nil, err
		}
		if w.Selector != nil {
			e.selector = w.Selector.String()
		}
		return e, nil
	}
}
