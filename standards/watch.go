package standards

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
)

const (
	// crdPoll is how often the API server is asked whether it serves
	// scaleguard.io/v1alpha1 yet, when it did not at start.
	crdPoll = 10 * time.Second
	// resync rebuilds the standards without an event: a namespace's labels
	// may have moved it under another cluster standard.
	resync = 30 * time.Second
	// settle lets a burst of events (kubectl apply -f of a folder) make
	// one rebuild.
	settle = 50 * time.Millisecond
)

// Watcher keeps a Store in step with the ClusterScalingStandards and
// ScalingStandards of the cluster, through informers, and writes each
// object's status.
type Watcher struct {
	store  *Store
	config *rest.Config
	log    logr.Logger
}

// NewWatcher returns a watcher of the cluster at config for store.
func NewWatcher(config *rest.Config, store *Store, log logr.Logger) *Watcher {
	return &Watcher{store: store, config: config, log: log}
}

// Start watches until ctx ends. Until the CRDs are served the store keeps
// its fallback (the settings file or the built-in standard).
func (w *Watcher) Start(ctx context.Context) error {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := w.waitForCRDs(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	informers, err := cache.New(w.config, cache.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("standards: %w", err)
	}
	writer, err := client.New(w.config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("standards: %w", err)
	}
	// A refused ScalingStandard is judged again against what the API
	// server holds (Store.Validate), at most once a second.
	var lastRefresh atomic.Int64
	w.store.SetRefresh(func(ctx context.Context) error {
		now := time.Now().UnixNano()
		if last := lastRefresh.Load(); now-last < int64(time.Second) || !lastRefresh.CompareAndSwap(last, now) {
			return errors.New("refreshed less than a second ago")
		}
		return w.update(ctx, writer)
	})
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := toolscache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke}
	for _, obj := range []client.Object{&v1alpha1.ClusterScalingStandard{}, &v1alpha1.ScalingStandard{}} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("standards: watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		return <-done
	}
	w.log.Info("standards synced: ClusterScalingStandards win over the settings file where one exists")
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		w.sync(ctx, informers, writer)
		select {
		case <-ctx.Done():
			return <-done
		case <-changed:
			time.Sleep(settle)
		case <-tick.C:
		}
	}
}

// waitForCRDs returns once the API server serves scaleguard.io/v1alpha1.
func (w *Watcher) waitForCRDs(ctx context.Context) error {
	dc, err := discovery.NewDiscoveryClientForConfig(w.config)
	if err != nil {
		return fmt.Errorf("standards: %w", err)
	}
	logged := false
	for {
		_, err := dc.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
		if err == nil {
			return nil
		}
		if !logged {
			logged = true
			w.log.Info("scaleguard.io/v1alpha1 is not served (the CRDs are not installed): judging with the settings file or the built-in standard; checking again every 10s", "reason", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(crdPoll):
		}
	}
}

// sync puts what the informers hold in force and writes the statuses that
// changed. A status write that fails is retried at the next sync.
func (w *Watcher) sync(ctx context.Context, r client.Reader, c client.Client) {
	var clusters v1alpha1.ClusterScalingStandardList
	var overrides v1alpha1.ScalingStandardList
	if err := r.List(ctx, &clusters); err != nil {
		w.log.Error(err, "listing ClusterScalingStandards")
		return
	}
	if err := r.List(ctx, &overrides); err != nil {
		w.log.Error(err, "listing ScalingStandards")
		return
	}
	clusterStatus, overrideStatus := w.store.Update(clusters.Items, overrides.Items)
	w.log.V(1).Info("standards in force", "clusterScalingStandards", len(clusters.Items), "scalingStandards", len(overrides.Items))
	w.writeStatuses(ctx, c, clusters, overrides, clusterStatus, overrideStatus)
}

// update reads the standards from r and puts them in force, without
// writing statuses (the next sync does).
func (w *Watcher) update(ctx context.Context, r client.Reader) error {
	var clusters v1alpha1.ClusterScalingStandardList
	var overrides v1alpha1.ScalingStandardList
	if err := r.List(ctx, &clusters); err != nil {
		return err
	}
	if err := r.List(ctx, &overrides); err != nil {
		return err
	}
	w.store.Update(clusters.Items, overrides.Items)
	return nil
}

func (w *Watcher) writeStatuses(ctx context.Context, c client.Client, clusters v1alpha1.ClusterScalingStandardList, overrides v1alpha1.ScalingStandardList,
	clusterStatus, overrideStatus map[string]v1alpha1.StandardStatus) {
	for i := range clusters.Items {
		obj := &clusters.Items[i]
		w.writeStatus(ctx, c, obj, &obj.Status, clusterStatus[obj.Name])
	}
	for i := range overrides.Items {
		obj := &overrides.Items[i]
		w.writeStatus(ctx, c, obj, &obj.Status, overrideStatus[obj.Namespace+"/"+obj.Name])
	}
}

func (w *Watcher) writeStatus(ctx context.Context, c client.Client, obj client.Object, into *v1alpha1.StandardStatus, want v1alpha1.StandardStatus) {
	if apiequality.Semantic.DeepEqual(*into, want) {
		return
	}
	for _, cond := range want.Conditions {
		if cond.Type == v1alpha1.ConditionValid && cond.Status != "True" {
			w.log.Info("standard refused; the last valid one stays in force", "kind", fmt.Sprintf("%T", obj), "namespace", obj.GetNamespace(), "name", obj.GetName(), "reason", cond.Message)
		}
	}
	*into = want
	if err := c.Status().Update(ctx, obj); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		w.log.Error(err, "writing the status of a standard", "namespace", obj.GetNamespace(), "name", obj.GetName())
	}
}
