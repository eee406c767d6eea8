package cluster

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNamespaceLists(t *testing.T) {
	now := time.Unix(1000, 0)
	n := &namespaceLists{now: func() time.Time { return now }}
	var calls atomic.Int32
	list := func() ([]*entry, error) {
		calls.Add(1)
		return []*entry{{name: "web"}}, nil
	}
	for range 3 {
		if got, err := n.get("deployments/shop", list); err != nil || len(got) != 1 {
			t.Fatalf("get: %v, %v", got, err)
		}
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("%d lists within the TTL, want 1", c)
	}
	if _, err := n.get("deployments/other", list); err != nil || calls.Load() != 2 {
		t.Errorf("another namespace is listed on its own: %d lists, %v", calls.Load(), err)
	}
	now = now.Add(namespaceListTTL)
	if _, err := n.get("deployments/shop", list); err != nil || calls.Load() != 3 {
		t.Errorf("after the TTL: %d lists, want 3, %v", calls.Load(), err)
	}
	// A failure is not kept: the next review tries again.
	now = now.Add(namespaceListTTL)
	if _, err := n.get("deployments/shop", func() ([]*entry, error) { return nil, errors.New("down") }); err == nil {
		t.Error("a failed list answered")
	}
	if _, err := n.get("deployments/shop", list); err != nil || calls.Load() != 4 {
		t.Errorf("after a failure: %d lists, want 4, %v", calls.Load(), err)
	}

	// Reviews that miss at the same moment share one list.
	now = now.Add(namespaceListTTL)
	release := make(chan struct{})
	slow := func() ([]*entry, error) {
		calls.Add(1)
		<-release
		return []*entry{{name: "web"}}, nil
	}
	var wg sync.WaitGroup
	before := calls.Load()
	for range 8 {
		wg.Go(func() {
			if got, err := n.get("deployments/shop", slow); err != nil || len(got) != 1 {
				t.Errorf("get: %v, %v", got, err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if c := calls.Load() - before; c != 1 {
		t.Errorf("%d lists for 8 reviews at once, want 1", c)
	}
}
