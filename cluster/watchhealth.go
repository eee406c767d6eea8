package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/scaleguard/scaleguard/policies"
)

// watchHealth says whether an informer's store is current. An informer that
// has synced once stays synced (HasSynced) through a broken watch: while
// the API server restarts, and after it until the re-list its new watch
// cache forces (the old resourceVersion is "too old" for it), the store
// misses every change made meanwhile, and a rule reading it would judge
// against the past. So the informer's own list and watch calls are
// followed (see track): a call that fails or a watch that answers with an
// error marks the store stale; a list returned, the end of a streamed
// re-list (watch-list), or a watch resumed from the store's
// resourceVersion that delivers an event, or no error within resumeGrace,
// marks it current again. While stale, the lookups answer
// policies.ErrUnknown: the rules that need the resource warn "not checked"
// instead of judging.
//
// A resumed watch is not trusted at once: a restarted API server accepts
// the watch and then sends "too old resource version" as its first event,
// 100 ms later on the loaded test bed, and until the re-list that follows
// the store misses the objects written since the restart.
type watchHealth struct {
	resource string
	log      logr.Logger
	now      func() time.Time
	// grace is how long a resumed watch must go without an error event
	// to count as current when no other event arrives first.
	grace time.Duration

	mu      sync.Mutex
	staleAt time.Time // zero while current
	cause   error
	// breaks counts broke calls, so that a resumed watch's grace timer
	// cannot end a staleness that began after it was armed.
	breaks int
}

// informerReady is nil once informer has synced while health says its
// store is current, and otherwise policies.ErrUnknown saying which of the
// two is missing: every lookup of an informer's store asks it first.
func informerReady(resource string, informer toolscache.SharedIndexInformer, health *watchHealth) error {
	if !informer.HasSynced() {
		return fmt.Errorf("%s not synced yet: %w", resource, policies.ErrUnknown)
	}
	if err := health.current(); err != nil {
		return fmt.Errorf("%w: %w", err, policies.ErrUnknown)
	}
	return nil
}

// resumeGrace is watchHealth.grace: ten times the delay of the error event
// measured on a loaded API server.
const resumeGrace = time.Second

func newWatchHealth(resource string, log logr.Logger) *watchHealth {
	return &watchHealth{resource: resource, log: log, now: time.Now, grace: resumeGrace}
}

// current is nil while the store is current, and says since when and why
// it is not otherwise.
func (h *watchHealth) current() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.staleAt.IsZero() {
		return nil
	}
	return fmt.Errorf("the watch of %s is interrupted since %s (%v)", h.resource, h.staleAt.Format(time.RFC3339), h.cause)
}

func (h *watchHealth) broke(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.breaks++
	if h.staleAt.IsZero() {
		h.staleAt, h.cause = h.now(), err
		h.log.Info("cluster view: watch interrupted; rules that need it warn \"not checked\" until it is current again", "resource", h.resource, "cause", err.Error())
	}
}

func (h *watchHealth) resumed(how string) { h.resumedSince(-1, how) }

// resumedSince marks the store current unless it broke again after the
// breaks-th break (-1: whatever broke since).
func (h *watchHealth) resumedSince(breaks int, how string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.staleAt.IsZero() || breaks >= 0 && h.breaks != breaks {
		return
	}
	stale := h.now().Sub(h.staleAt)
	h.staleAt, h.cause = time.Time{}, nil
	h.log.Info("cluster view: watch current again", "resource", h.resource, "how", how, "stale", stale.Round(time.Millisecond))
}

// track wraps lw's list and watch calls to follow the store's health.
func (h *watchHealth) track(lw *toolscache.ListWatch) {
	list, watchFn := lw.ListWithContextFunc, lw.WatchFuncWithContext
	lw.ListWithContextFunc = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		obj, err := list(ctx, o)
		if err != nil {
			if ctx.Err() == nil {
				h.broke(err)
			}
			return nil, err
		}
		h.resumed("listed")
		return obj, nil
	}
	lw.WatchFuncWithContext = func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		w, err := watchFn(ctx, o)
		if err != nil {
			if ctx.Err() == nil {
				h.broke(err)
			}
			return nil, err
		}
		streamed := o.SendInitialEvents != nil && *o.SendInitialEvents
		h.mu.Lock()
		breaks, grace := h.breaks, h.grace
		h.mu.Unlock()
		if !streamed {
			time.AfterFunc(grace, func() { h.resumedSince(breaks, "watch resumed") })
		}
		return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
			switch {
			case e.Type == watch.Error:
				h.broke(apierrors.FromObject(e.Object))
			case streamed:
				if e.Type == watch.Bookmark && initialEventsEnd(e.Object) {
					h.resumed("re-listed (watch-list)")
				}
			default:
				h.resumedSince(breaks, "watch resumed")
			}
			return e, true
		}), nil
	}
	//nolint:staticcheck // kept in step for callers of the context-free List and Watch
	lw.ListFunc = func(o metav1.ListOptions) (runtime.Object, error) {
		return lw.ListWithContextFunc(context.Background(), o)
	}
	//nolint:staticcheck // as above
	lw.WatchFunc = func(o metav1.ListOptions) (watch.Interface, error) {
		return lw.WatchFuncWithContext(context.Background(), o)
	}
}

// initialEventsEnd reports whether a bookmark ends the initial events of a
// streamed list.
func initialEventsEnd(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	return err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}
