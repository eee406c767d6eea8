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

// Live lookups bound: one call, and how long to stop trying after one
// failed, so that a request never waits on more than one of them.
const (
	liveTimeout = time.Second
	liveBackoff = 5 * time.Second
)

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
// answer is policies.ErrUnknown, as from an unsynced informer, and no live
// call is tried for liveBackoff.
type liveLimitRanges struct {
	client corev1client.LimitRangesGetter
	now    func() time.Time

	mu       sync.Mutex
	failedAt time.Time
}

func (l *liveLimitRanges) list(namespace string) ([]corev1.LimitRange, error) {
	l.mu.Lock()
	resting := !l.failedAt.IsZero() && l.now().Sub(l.failedAt) < liveBackoff
	l.mu.Unlock()
	if resting {
		return nil, fmt.Errorf("%s not synced yet: %w", limitRanges, policies.ErrUnknown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	list, err := l.client.LimitRanges(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		l.mu.Lock()
		l.failedAt = l.now()
		l.mu.Unlock()
		return nil, fmt.Errorf("%s not synced yet, and listing them failed (%v): %w", limitRanges, err, policies.ErrUnknown)
	}
	return list.Items, nil
}
