package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
)

// gcPercent reads the collector's target (SetGCPercent returns the old one).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestGCTargetBursts(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := newGCTarget()
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
	harness.Eventually(t, 2*time.Second, "GOGC at the burst's while the view lists",
		harness.Holds(func() bool { return gcPercent() == burstGCPercent }))
	synced.Store(true)
	<-done
	if got := gcPercent(); got != 100 {
		t.Errorf("once synced: GOGC %d, want 100", got)
	}
}

func TestGCTargetLeavesAGOGCSetAlone(t *testing.T) {
	t.Setenv("GOGC", "200")
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	g := newGCTarget()
	g.during(func() {
		if got := gcPercent(); got != 200 {
			t.Errorf("GOGC=200 set, a burst made it %d", got)
		}
	})
	g.follow(1 << 20)
	if got := gcPercent(); got != 200 {
		t.Errorf("GOGC=200 set, following a 1 MiB live heap made it %d", got)
	}
}

func TestSteadyGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{live: 0, want: 100},         // nothing read yet: Go's default
		{live: 1 * mib, want: 425},   // live+16 MiB is 17 MiB: 425 % keeps the runtime's least heap (4 MiB × 4.25) there
		{live: 4 * mib, want: 400},   // 4 MiB live, 16 MiB of room: a 20 MiB target
		{live: 8 * mib, want: 200},   // 8 + 16 = 24 MiB
		{live: 12 * mib, want: 133},  // 12 + 16 = 28 MiB, rounded down
		{live: 16 * mib, want: 100},  // Go's default gives 16 MiB of room already
		{live: 200 * mib, want: 100}, // and more above
	} {
		if got := steadyGCPercent(tc.live); got != tc.want {
			t.Errorf("steadyGCPercent(%d MiB): %d, want %d", tc.live/mib, got, tc.want)
		}
		// What the runtime then aims at is never less room than
		// steadyHeadroom (or Go's default) and never more than live +
		// steadyHeadroom once the least heap is counted.
		p := uint64(steadyGCPercent(tc.live))
		goal := max(tc.live+tc.live*p/100, heapMinimum*p/100)
		if tc.live > 0 && tc.live < steadyHeadroom && (goal < tc.live+steadyHeadroom-mib || goal > tc.live+steadyHeadroom) {
			t.Errorf("live %d MiB: GOGC %d aims at %d MiB, want about %d", tc.live/mib, p, goal/mib, (tc.live+steadyHeadroom)/mib)
		}
	}
}

func TestGCTargetFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := newGCTarget()
	g.follow(4 << 20)
	if got := gcPercent(); got != 400 {
		t.Errorf("4 MiB live: GOGC %d, want 400", got)
	}
	// A burst sets its own target and, once over, gives back the steady
	// one, updated by what was read meanwhile.
	g.during(func() {
		g.follow(8 << 20)
		if got := gcPercent(); got != burstGCPercent {
			t.Errorf("a live heap read during a burst: GOGC %d, want the burst's %d", got, burstGCPercent)
		}
	})
	if got := gcPercent(); got != 200 {
		t.Errorf("after the burst, 8 MiB live: GOGC %d, want 200", got)
	}
	g.follow(64 << 20)
	if got := gcPercent(); got != 100 {
		t.Errorf("64 MiB live: GOGC %d, want 100", got)
	}

	// The loop reads the runtime's own figure: this test process holds far
	// less than 16 MiB, so the target rises above Go's default.
	debug.SetGCPercent(100)
	g = newGCTarget()
	runtime.GC() // so that the live heap has been measured
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.followLiveHeap(ctx, 10*time.Millisecond); close(done) }()
	harness.Eventually(t, 5*time.Second, "GOGC above 100 for this process's live heap",
		harness.Holds(func() bool { return gcPercent() > 100 }))
	cancel()
	<-done
}
