package main

import (
	"context"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// burstGCPercent is the garbage collector's target during the two bursts
// of allocation scaleguard serve has: the cluster view's first lists, and
// each audit scan.
//
// Go collects when the heap has grown by GOGC % (100 by default) over what
// was live after the last collection. scaleguard's live heap is small — 18
// MiB after a forced collection with 10,000 Deployments and 10,000 HPAs in
// view — but the first lists allocate some 400 MB in a
// few seconds (client-go copies each watch event three times before the
// transform keeps its few fields) and a scan decodes every object again.
// At 100 % those bursts took the process to 98 MiB resident; at 20 % it
// stays under 80 MiB (`make bench-rss`, docs/PERFORMANCE.md). Outside them,
// admission reviews run with Go's default or more (steadyGCPercent): a
// lower target would make the collector run more often for every review's
// garbage.
const burstGCPercent = 20

// steadyHeadroom is the least the heap may grow between two collections
// outside the bursts. At Go's default target the heap grows by as much as
// is live; with a small live heap (a few MiB without a cluster view, or in
// a small cluster) the collector then runs dozens of times a second under
// admission load, and every review's garbage pays for it. Once as much as
// steadyHeadroom is live, Go's default gives that room already and is kept.
// The cost is at most steadyHeadroom more heap. docs/PERFORMANCE.md ("The
// collector's room") has the measurement.
const steadyHeadroom = 16 << 20

// heapMinimum is the Go runtime's least heap target at GOGC=100
// (runtime.defaultHeapMinimum); it scales with GOGC, so a raised target
// raises it too.
const heapMinimum = 4 << 20

// steadyGCPercent is the collector's target for a live heap of live bytes
// outside the bursts: Go's default 100 %, or more when that would leave
// less than steadyHeadroom of room, but never so much that the runtime's
// least heap, which grows with it, passes live + steadyHeadroom.
func steadyGCPercent(live uint64) int {
	if live == 0 || live >= steadyHeadroom {
		return 100
	}
	p := steadyHeadroom * 100 / live
	if most := (live + steadyHeadroom) * 100 / heapMinimum; p > most {
		p = most
	}
	return int(max(p, 100))
}

// gcTarget sets the collector's target: burstGCPercent while at least one
// burst runs, steadyGCPercent of the live heap otherwise. It does nothing
// when GOGC is set in the environment: whoever set it chose.
type gcTarget struct {
	enabled bool

	mu      sync.Mutex
	running int
	steady  int
}

func newGCTarget() *gcTarget {
	return &gcTarget{enabled: os.Getenv("GOGC") == "", steady: 100}
}

func (g *gcTarget) enter() {
	if !g.enabled {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 {
		debug.SetGCPercent(burstGCPercent)
	}
	g.running++
}

func (g *gcTarget) exit() {
	if !g.enabled {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running--; g.running == 0 {
		debug.SetGCPercent(g.steady)
	}
}

// follow sets the steady target for a live heap of live bytes, in force
// at once unless a burst runs.
func (g *gcTarget) follow(live uint64) {
	if !g.enabled {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p := steadyGCPercent(live)
	if p == g.steady {
		return
	}
	g.steady = p
	if g.running == 0 {
		debug.SetGCPercent(p)
	}
}

// liveHeapMetric is the heap the last collection found live.
const liveHeapMetric = "/gc/heap/live:bytes"

// followLiveHeap keeps the steady target following the live heap, read
// every period, until ctx ends. The live heap changes with what the
// cluster view holds, slowly; a second is soon enough.
func (g *gcTarget) followLiveHeap(ctx context.Context, period time.Duration) {
	if !g.enabled {
		return
	}
	sample := []rtmetrics.Sample{{Name: liveHeapMetric}}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		rtmetrics.Read(sample)
		if sample[0].Value.Kind() == rtmetrics.KindUint64 {
			g.follow(sample[0].Value.Uint64())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// during runs f as a burst.
func (g *gcTarget) during(f func()) {
	g.enter()
	defer g.exit()
	f()
}

// untilSynced is a burst that lasts until synced reports true (or ctx
// ends): the cluster view's first lists.
func (g *gcTarget) untilSynced(ctx context.Context, synced func() bool) {
	g.enter()
	defer g.exit()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
