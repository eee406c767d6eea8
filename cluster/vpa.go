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

const vpas = "verticalpodautoscalers"

var vpaGVR = schema.GroupVersionResource{Group: policies.VPAGroup, Version: policies.VPAVersion, Resource: vpas}

// vpaWatch holds the VerticalPodAutoscalers when the cluster serves them.
// The VPA is a CRD that most clusters do not have, so its informer is not
// one of the view's fixed informers: discovery is asked at start and every
// interval after, the informer is started when the resource appears and
// stopped when it goes, and installing the CRD later needs no restart.
// Until discovery has answered once, or while a started informer has not
// synced, lookups answer policies.ErrUnknown; when the resource is not
// served, they answer "no VPAs" and ask for an early check (at most every
// vpaRecheck), so that an HPA and a VPA applied right after the CRD are
// judged together within seconds, not after a whole interval.
type vpaWatch struct {
	dyn       dynamic.Interface
	discovery resourceLister
	interval  time.Duration
	log       logr.Logger
	// recheck asks run for a check before the next tick.
	recheck chan struct{}

	mu sync.Mutex
	// checkedAt is when discovery last answered.
	checkedAt time.Time
	// answered is true once discovery has said whether VPAs are served.
	answered bool
	informer toolscache.SharedIndexInformer
	// stop ends the running informer.
	stop context.CancelFunc
}

// vpaRecheck is the least time between two checks a lookup asks for.
const vpaRecheck = 5 * time.Second

func newVPAWatch(dyn dynamic.Interface, discovery resourceLister, interval time.Duration, log logr.Logger) *vpaWatch {
	return &vpaWatch{dyn: dyn, discovery: discovery, interval: interval, log: log, recheck: make(chan struct{}, 1)}
}

// run checks discovery every interval, and when a lookup asks, until ctx
// ends.
func (w *vpaWatch) run(ctx context.Context) {
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

// check asks discovery whether VPAs are served and starts or stops the
// informer to match. A failed discovery call changes nothing.
func (w *vpaWatch) check(ctx context.Context) {
	served, err := w.served()
	if err != nil {
		w.log.V(1).Info("discovery of VerticalPodAutoscalers failed; asking again later", "error", err.Error())
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answered, w.checkedAt = true, time.Now()
	switch {
	case served && w.informer == nil:
		w.log.Info("VerticalPodAutoscalers are served; watching them")
		w.informer = w.newInformer()
		var informerCtx context.Context
		informerCtx, w.stop = context.WithCancel(ctx)
		go w.informer.RunWithContext(informerCtx)
	case !served && w.informer != nil:
		w.log.Info("VerticalPodAutoscalers are no longer served; forgetting them")
		w.stop()
		w.informer, w.stop = nil, nil
	}
}

// served reports whether the API server serves autoscaling.k8s.io/v1
// verticalpodautoscalers.
func (w *vpaWatch) served() (bool, error) {
	list, err := w.discovery.ServerResourcesForGroupVersion(vpaGVR.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == vpas {
			return true, nil
		}
	}
	return false, nil
}

func (w *vpaWatch) newInformer() toolscache.SharedIndexInformer {
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return w.dyn.Resource(vpaGVR).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return w.dyn.Resource(vpaGVR).Watch(ctx, o)
		},
	}
	// The client says whether it can stream the first list as watch events
	// (client-go's fake cannot, and the informer would wait for them).
	i := toolscache.NewSharedIndexInformer(toolscache.ToListWatcherWithWatchListSemantics(lw, w.dyn),
		&unstructured.Unstructured{}, 0, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	// SetTransform fails only on a started informer; this one is new.
	_ = i.SetTransform(transformVPA)
	return i
}

// vpasFor answers policies.Cluster.VPAsFor.
func (w *vpaWatch) vpasFor(namespace, kind, name string) ([]*policies.VPA, error) {
	w.mu.Lock()
	answered, informer, checkedAt := w.answered, w.informer, w.checkedAt
	w.mu.Unlock()
	switch {
	case !answered:
		return nil, fmt.Errorf("discovery of %s not answered yet: %w", vpas, policies.ErrUnknown)
	case informer == nil:
		if time.Since(checkedAt) > vpaRecheck {
			select {
			case w.recheck <- struct{}{}:
			default: // a check is already asked for
			}
		}
		return nil, nil
	case !informer.HasSynced():
		return nil, fmt.Errorf("%s not synced yet: %w", vpas, policies.ErrUnknown)
	}
	objs, err := informer.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing the VerticalPodAutoscalers of %s %s/%s: %w", kind, namespace, name, err)
	}
	var out []*policies.VPA
	for _, o := range objs {
		if v, ok := o.(*policies.VPA); ok && v.Targets(kind, name) {
			out = append(out, v.DeepCopy())
		}
	}
	return out, nil
}

// transformVPA keeps what hpa-vpa-conflict reads of a VerticalPodAutoscaler
// (policies.VPA: the target, the update mode and the container policies'
// names, modes and controlled resources) and its identity. An object it
// cannot read becomes a VPA that targets nothing, rather than an error that
// would stop the informer.
func transformVPA(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return in, nil
	}
	var v policies.VPA
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		v = policies.VPA{}
	}
	out := &policies.VPA{TypeMeta: metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()}, Spec: v.Spec}
	out.ObjectMeta = metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
		Annotations: ownAnnotations(u.GetAnnotations()),
	}
	return out, nil
}
