package main

import (
	"context"
	"os"
	"runtime/debug"
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
// admission reviews run with Go's default: a lower target would make the
// collector run more often for every review's garbage, a cost no figure
// here justifies.
const burstGCPercent = 20

// gcBursts lowers the collector's target while at least one burst runs.
// It does nothing when GOGC is set in the environment: whoever set it
// chose.
type gcBursts struct {
	enabled bool

	mu      sync.Mutex
	running int
}

func newGCBursts() *gcBursts {
	return &gcBursts{enabled: os.Getenv("GOGC") == ""}
}

func (g *gcBursts) enter() {
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

func (g *gcBursts) exit() {
	if !g.enabled {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running--; g.running == 0 {
		// Go's default, which is what runs when GOGC is unset.
		debug.SetGCPercent(100)
	}
}

// during runs f as a burst.
func (g *gcBursts) during(f func()) {
	g.enter()
	defer g.exit()
	f()
}

// untilSynced is a burst that lasts until synced reports true (or ctx
// ends): the cluster view's first lists.
func (g *gcBursts) untilSynced(ctx context.Context, synced func() bool) {
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
