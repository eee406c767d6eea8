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
)

// watchHealth says whether an informer's store is current. An informer that
// has synced once stays synced (HasSynced) through a broken watch: while
// the API server restarts, and after it until the re-list its new watch
// cache forces (the old resourceVersion is "too old" for it), the store
// misses every change made meanwhile, and a rule reading it would judge
// against the past. So the informer's own list and watch calls are
// followed (see track): a call that fails or a watch that answers with an
// error marks the store stale; a list returned, a watch resumed from the
// store's resourceVersion, or the end of a streamed re-list (watch-list)
// marks it current again. While stale, the lookups answer
// policies.ErrUnknown: the rules that need the resource warn "not checked"
// instead of judging.
//
// Between a watch resumed and the error the API server sends on it (a
// resourceVersion too old) the store counts as current for the moment the
// event takes to arrive: it then holds everything up to the break, and
// nothing can have changed while no API server answered.
type watchHealth struct {
	resource string
	log      logr.Logger
	now      func() time.Time

	mu      sync.Mutex
	staleAt time.Time // zero while current
	cause   error
}

func newWatchHealth(resource string, log logr.Logger) *watchHealth {
	return &watchHealth{resource: resource, log: log, now: time.Now}
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
	if h.staleAt.IsZero() {
		h.staleAt, h.cause = h.now(), err
		h.log.Info("cluster view: watch interrupted; rules that need it warn \"not checked\" until it is current again", "resource", h.resource, "cause", err.Error())
	}
}

func (h *watchHealth) resumed(how string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.staleAt.IsZero() {
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
		if !streamed {
			h.resumed("watch resumed")
		}
		return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
			switch e.Type {
			case watch.Error:
				h.broke(apierrors.FromObject(e.Object))
			case watch.Bookmark:
				if streamed && initialEventsEnd(e.Object) {
					h.resumed("re-listed (watch-list)")
				}
			}
			return e, true
		}), nil
	}
	lw.ListFunc = func(o metav1.ListOptions) (runtime.Object, error) {
		return lw.ListWithContextFunc(context.Background(), o)
	}
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
