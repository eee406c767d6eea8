package cluster

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/scaleguard/scaleguard/policies"
)

func TestLiveLimitRanges(t *testing.T) {
	cs := fake.NewClientset(&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "shop"}})
	down := false
	calls := 0
	cs.PrependReactor("list", "limitranges", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if down {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	now := time.Unix(1000, 0)
	l := &liveLimitRanges{client: cs.CoreV1(), calls: &liveCalls{now: func() time.Time { return now }}}

	if lrs, err := l.list("shop"); err != nil || len(lrs) != 1 {
		t.Fatalf("from the API server: %v, %v", lrs, err)
	}
	down = true
	if _, err := l.list("shop"); !errors.Is(err, policies.ErrUnknown) {
		t.Errorf("a failed call: %v, want ErrUnknown", err)
	}
	down = false
	before := calls
	now = now.Add(liveBackoff - time.Second)
	if _, err := l.list("shop"); !errors.Is(err, policies.ErrUnknown) || calls != before {
		t.Errorf("within the backoff: %v after %d calls, want ErrUnknown and none", err, calls-before)
	}
	now = now.Add(time.Second)
	if lrs, err := l.list("shop"); err != nil || len(lrs) != 1 {
		t.Errorf("after the backoff: %v, %v", lrs, err)
	}
}
