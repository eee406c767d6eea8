package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/scaleguard/scaleguard/policies"
)

// crdWatch holds the objects of a custom resource when the cluster serves
// it (the VerticalPodAutoscaler, KEDA's ScaledObject). Most clusters do
// not have such a CRD, so its informer is not one of the view's fixed
// informers: discovery is asked at start and every interval after, the
// informer is started when the resource appears and stopped when it goes,
// and installing the CRD later needs no restart. Until discovery has
// answered once, or while a started informer has not synced, lookups
// answer policies.ErrUnknown, as they do while its watch is interrupted
// (watchHealth: an API server restarting); when the resource is not served, they answer
// "none" and ask for an early check (at most every crdRecheck), so that
// objects applied right after the CRD are judged together within seconds,
// not after a whole interval.
type crdWatch struct {
	gvr       schema.GroupVersionResource
	dyn       dynamic.Interface
	discovery resourceLister
	interval  time.Duration
	log       logr.Logger
	// transform reduces a listed object to what the rules read.
	transform toolscache.TransformFunc
	// recheck asks run for a check before the next tick.
	recheck chan struct{}

	mu sync.Mutex
	// checkedAt is when discovery last answered.
	checkedAt time.Time
	// answered is true once discovery has said whether the resource is
	// served.
	answered bool
	informer toolscache.SharedIndexInformer
	// health says whether the running informer's store is current.
	health *watchHealth
	// stop ends the running informer.
	stop context.CancelFunc
}

// crdRecheck is the least time between two checks a lookup asks for.
const crdRecheck = 5 * time.Second

func newCRDWatch(gvr schema.GroupVersionResource, transform toolscache.TransformFunc, dyn dynamic.Interface, discovery resourceLister, interval time.Duration, log logr.Logger) *crdWatch {
	return &crdWatch{gvr: gvr, transform: transform, dyn: dyn, discovery: discovery, interval: interval,
		log: log.WithValues("resource", gvr.String()), recheck: make(chan struct{}, 1)}
}

// run checks discovery every interval, and when a lookup asks, until ctx
// ends.
func (w *crdWatch) run(ctx context.Context) {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		w.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.recheck:
		}
	}
}

// check asks discovery whether the resource is served and starts or stops
// the informer to match. A failed discovery call changes nothing.
func (w *crdWatch) check(ctx context.Context) {
	served, err := w.served()
	if err != nil {
		w.log.V(1).Info("discovery failed; asking again later", "error", err.Error())
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answered, w.checkedAt = true, time.Now()
	switch {
	case served && w.informer == nil:
		w.log.Info("the resource is served; watching it")
		w.informer, w.health = w.newInformer()
		var informerCtx context.Context
		informerCtx, w.stop = context.WithCancel(ctx)
		go w.informer.RunWithContext(informerCtx)
	case !served && w.informer != nil:
		w.log.Info("the resource is no longer served; forgetting its objects")
		w.stop()
		w.informer, w.health, w.stop = nil, nil, nil
	}
}

// served reports whether the API server serves the resource.
func (w *crdWatch) served() (bool, error) {
	list, err := w.discovery.ServerResourcesForGroupVersion(w.gvr.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == w.gvr.Resource {
			return true, nil
		}
	}
	return false, nil
}

func (w *crdWatch) newInformer() (toolscache.SharedIndexInformer, *watchHealth) {
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return w.dyn.Resource(w.gvr).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return w.dyn.Resource(w.gvr).Watch(ctx, o)
		},
	}
	health := newWatchHealth(w.gvr.Resource, w.log)
	health.track(lw)
	// The client says whether it can stream the first list as watch events
	// (client-go's fake cannot, and the informer would wait for them).
	i := toolscache.NewSharedIndexInformer(toolscache.ToListWatcherWithWatchListSemantics(lw, w.dyn),
		&unstructured.Unstructured{}, 0, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	// SetTransform fails only on a started informer; this one is new.
	_ = i.SetTransform(w.transform)
	return i, health
}

// inNamespace returns the objects of namespace as the transform kept them;
// nil and no error when the resource is not served.
func (w *crdWatch) inNamespace(namespace string) ([]any, error) {
	w.mu.Lock()
	answered, informer, health, checkedAt := w.answered, w.informer, w.health, w.checkedAt
	w.mu.Unlock()
	switch {
	case !answered:
		return nil, fmt.Errorf("discovery of %s not answered yet: %w", w.gvr.Resource, policies.ErrUnknown)
	case informer == nil:
		if time.Since(checkedAt) > crdRecheck {
			select {
			case w.recheck <- struct{}{}:
			default: // a check is already asked for
			}
		}
		return nil, nil
	}
	if err := informerReady(w.gvr.Resource, informer, health); err != nil {
		return nil, err
	}
	if namespace == metav1.NamespaceAll {
		return informer.GetStore().List(), nil
	}
	objs, err := informer.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing the %s of namespace %s: %w", w.gvr.Resource, namespace, err)
	}
	return objs, nil
}

// targeting returns copies of the autoscalers w holds in namespace whose
// target is kind/name; what names them in errors.
func targeting[P interface {
	Targets(kind, name string) bool
	DeepCopy() P
}](w *crdWatch, what, namespace, kind, name string) ([]P, error) {
	objs, err := w.inNamespace(namespace)
	if err != nil {
		return nil, fmt.Errorf("the %s of %s %s/%s: %w", what, kind, namespace, name, err)
	}
	var out []P
	for _, o := range objs {
		if a, ok := o.(P); ok && a.Targets(kind, name) {
			out = append(out, a.DeepCopy())
		}
	}
	return out, nil
}
