package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// Calls to the API server itself are bounded: each gets liveTimeout, and
// after one failed none is tried for liveBackoff, so that a review never
// waits on more than one failed call. A second is far below the webhook's
// timeoutSeconds (5 by default, and a review may make one call to check the
// object and one to check the stored object it replaces), and far above what
// one GET or a namespace's LIST takes from an API server that answers: a call
// that has not answered within it meets an API server or a network in
// trouble, which more waiting would not cure.
const (
	liveTimeout = time.Second
	liveBackoff = 5 * time.Second
)

// liveCalls runs one kind of the view's calls to the API server within
// liveTimeout and liveBackoff.
type liveCalls struct {
	now func() time.Time

	mu       sync.Mutex
	failedAt time.Time
}

// do runs call within liveTimeout, unless a call failed less than
// liveBackoff ago; tried says whether call ran. call reports failures only:
// a NotFound that answers the question is no failure. A failure, or a call
// not tried, is an error that wraps policies.ErrUnknown and says what was
// not done.
func (l *liveCalls) do(what string, call func(context.Context) error) (tried bool, err error) {
	l.mu.Lock()
	resting := !l.failedAt.IsZero() && l.now().Sub(l.failedAt) < liveBackoff
	l.mu.Unlock()
	if resting {
		return false, fmt.Errorf("%s not tried, another call failed less than %s ago: %w", what, liveBackoff, policies.ErrUnknown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	if err := call(ctx); err != nil {
		l.mu.Lock()
		l.failedAt = l.now()
		l.mu.Unlock()
		return true, fmt.Errorf("%s failed (%v): %w", what, err, policies.ErrUnknown)
	}
	return true, nil
}

// liveLimitRanges answers LimitRanges from the API server itself until the
// informer has synced. Of all lookups this one alone turns a denial into a
// warning when unknown (requests-required cannot tell whether a LimitRange
// fills the request), so without it every start of scaleguard, a rolling
// update included, would admit workloads without requests for as long as
// the first list takes. The other lookups only skip their cross-object
// rules meanwhile, which is what "not synced" is for.
//
// The API server that calls the webhook is up, so the call is cheap and
// usually answers; when it does not (scaleguard cannot reach it), the
// answer is policies.ErrUnknown, as from an unsynced informer.
type liveLimitRanges struct {
	client corev1client.LimitRangesGetter
	calls  *liveCalls
}

func (l *liveLimitRanges) list(namespace string) ([]corev1.LimitRange, error) {
	var list *corev1.LimitRangeList
	_, err := l.calls.do("listing the LimitRanges of "+namespace, func(ctx context.Context) error {
		var err error
		list, err = l.client.LimitRanges(namespace).List(ctx, metav1.ListOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s not synced yet, and %w", limitRanges, err)
	}
	return list.Items, nil
}
