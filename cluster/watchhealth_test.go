package cluster

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// TestWatchHealth drives an informer's list and watch calls through what
// an API server restart does to them and checks when the store counts as
// current.
func TestWatchHealth(t *testing.T) {
	var (
		listErr, watchErr error
		fake              *watch.FakeWatcher
	)
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.LimitRangeList{}, listErr
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			if watchErr != nil {
				return nil, watchErr
			}
			fake = watch.NewFakeWithChanSize(1, false)
			return fake, nil
		},
	}
	h := newWatchHealth(limitRanges, logr.Discard())
	h.grace = time.Hour // the grace path is tested at the end
	h.track(lw)
	ctx := context.Background()
	// next delivers e through the tracked watch and waits for it.
	next := func(w watch.Interface, e watch.Event) {
		t.Helper()
		fake.Action(e.Type, e.Object)
		select {
		case <-w.ResultChan():
		case <-time.After(5 * time.Second):
			t.Fatal("event not delivered")
		}
	}
	current := func(want bool, when string) {
		t.Helper()
		if err := h.current(); (err == nil) != want {
			t.Errorf("%s: current() = %v, want current %v", when, err, want)
		}
	}

	if _, err := lw.ListWithContextFunc(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "10"}); err != nil {
		t.Fatal(err)
	}
	current(true, "listed and watching")

	watchErr = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	if _, err := lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "10"}); err == nil {
		t.Fatal("the watch error was not passed on")
	}
	current(false, "watch refused (API server down)")

	// The API server is back: the watch resumes, then its new watch cache
	// finds the resourceVersion too old.
	watchErr = nil
	w, err := lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "10"})
	if err != nil {
		t.Fatal(err)
	}
	current(false, "watch resumed, nothing heard on it yet")
	next(w, watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired("too old resource version: 10 (20)").ErrStatus})
	current(false, "resourceVersion too old")

	// The re-list, streamed (watch-list): current only at its end.
	if w, err = lw.WatchFuncWithContext(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(true)}); err != nil {
		t.Fatal(err)
	}
	current(false, "streamed list begun")
	next(w, watch.Event{Type: watch.Added, Object: &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n"}}})
	next(w, watch.Event{Type: watch.Bookmark, Object: &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "25"}}})
	current(false, "a bookmark that does not end the initial events")
	next(w, watch.Event{Type: watch.Bookmark, Object: &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{
		ResourceVersion: "30", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}})
	current(true, "streamed list ended")

	// A plain re-list: a failed one keeps it stale, a returned one ends it.
	watchErr = apierrors.NewResourceExpired("gone")
	_, _ = lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "30"})
	listErr = apierrors.NewServiceUnavailable("starting")
	if _, err := lw.ListWithContextFunc(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the list error was not passed on")
	}
	current(false, "list failed")
	listErr = nil
	if _, err := lw.ListWithContextFunc(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	current(true, "listed again")

	// A call cancelled by the informer's own stop is no break.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	watchErr = context.Canceled
	_, _ = lw.WatchFuncWithContext(cancelled, metav1.ListOptions{})
	current(true, "watch cancelled by the informer's stop")

	// Down and back, the resourceVersion still known: the first event on
	// the resumed watch, or the grace without an error, makes it current.
	watchErr = errors.New("connection refused")
	_, _ = lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "40"})
	watchErr = nil
	if w, err = lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "40"}); err != nil {
		t.Fatal(err)
	}
	current(false, "resumed, nothing heard")
	next(w, watch.Event{Type: watch.Modified, Object: &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n", ResourceVersion: "41"}}})
	current(true, "an event on the resumed watch")
	h.mu.Lock()
	h.grace = 20 * time.Millisecond
	h.mu.Unlock()
	watchErr = errors.New("connection refused")
	_, _ = lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "41"})
	watchErr = nil
	if _, err = lw.WatchFuncWithContext(ctx, metav1.ListOptions{ResourceVersion: "41"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.current() != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	current(true, "resumed and quiet for the grace")
}

// failWatches makes every watch of dyn fail, as against an API server that
// is down, until the returned switch is set to false.
func failWatches(dyn *dynamicfake.FakeDynamicClient) *atomic.Bool {
	var down atomic.Bool
	down.Store(true)
	dyn.PrependWatchReactor("*", func(k8stesting.Action) (bool, watch.Interface, error) {
		if down.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	return &down
}
