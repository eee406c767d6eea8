package main

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// gcPercent reads the collector's target (SetGCPercent returns the old one).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestGCBursts(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := newGCBursts()
	g.during(func() {
		if got := gcPercent(); got != burstGCPercent {
			t.Errorf("during a burst: GOGC %d, want %d", got, burstGCPercent)
		}
		// Bursts nest: the outer one keeps the target when the inner ends.
		g.during(func() {})
		if got := gcPercent(); got != burstGCPercent {
			t.Errorf("after a nested burst: GOGC %d, want %d", got, burstGCPercent)
		}
	})
	if got := gcPercent(); got != 100 {
		t.Errorf("after the bursts: GOGC %d, want 100", got)
	}

	var synced atomic.Bool
	done := make(chan struct{})
	go func() { g.untilSynced(context.Background(), synced.Load); close(done) }()
	for deadline := time.Now().Add(2 * time.Second); gcPercent() != burstGCPercent && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := gcPercent(); got != burstGCPercent {
		t.Errorf("while the view lists: GOGC %d, want %d", got, burstGCPercent)
	}
	synced.Store(true)
	<-done
	if got := gcPercent(); got != 100 {
		t.Errorf("once synced: GOGC %d, want 100", got)
	}
}

func TestGCBurstsLeaveAGOGCSetAlone(t *testing.T) {
	t.Setenv("GOGC", "200")
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	g := newGCBursts()
	g.during(func() {
		if got := gcPercent(); got != 200 {
			t.Errorf("GOGC=200 set, a burst made it %d", got)
		}
	})
}
