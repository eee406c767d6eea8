package scaling

import (
	"fmt"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Direction is the way a path analysis scales.
type Direction string

// The two directions; a path analysis runs one, a StuckReason blocks one.
const (
	ScaleUp   Direction = "ScaleUp"
	ScaleDown Direction = "ScaleDown"
)

// analysisEpoch is an arbitrary fixed instant the analyses count from, so
// their results never depend on the wall clock.
var analysisEpoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// PathPoint is one rescale on a path.
type PathPoint struct {
	// After is the time since the demand changed.
	After    time.Duration
	Replicas int32
	// Reason is the controller's ScalingLimited reason for this rescale
	// (empty for the starting point).
	Reason Reason
}

// Path is how an HPA moves between its bounds after a step change in demand.
type Path struct {
	Direction Direction
	From, To  int32
	// Points starts with {0, From} and has one entry per rescale.
	Points []PathPoint
	// Reached reports that To was reached, after Duration.
	Reached  bool
	Duration time.Duration
	// Final is the replica count at the end of the analysis.
	Final int32
	// Stuck says why To was not reached; empty when Reached.
	Stuck []StuckReason
	// Horizon is the simulated time the analysis was allowed.
	Horizon time.Duration
}

// FastestScaleUp is the quickest way spec can go from minReplicas to
// maxReplicas: the HPA has sat at minReplicas long enough for its history to
// hold nothing but that, then demand becomes infinitely high just before a
// sync, and the controller syncs every opts.SyncPeriod.
//
// The analysis steps a Controller, skipping only syncs that provably decide
// nothing new (no remembered recommendation or scale event that could change
// the outcome expires before them), and stops at opts.Horizon (default 24 h)
// or after 2^20 controller steps, reporting CauseTooSlow. Its cost is
// therefore bounded by the rescales and expiries within the horizon, not by
// maxReplicas.
func FastestScaleUp(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) Path {
	return fastestPath(spec, opts, ScaleUp)
}

// FastestScaleDown is FastestScaleUp in reverse: steady at maxReplicas, then
// demand drops to zero.
func FastestScaleDown(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) Path {
	return fastestPath(spec, opts, ScaleDown)
}

func fastestPath(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options, dir Direction) Path {
	o := opts.resolve()
	minReplicas, maxReplicas := replicaBounds(spec)
	p := Path{Direction: dir, From: minReplicas, To: maxReplicas, Horizon: o.horizon}
	ratio := math.Inf(1)
	if dir == ScaleDown {
		p.From, p.To, ratio = maxReplicas, minReplicas, 0
	}
	p.Final = p.From
	p.Points = []PathPoint{{Replicas: p.From}}
	if reasons := boundsReasons(spec, opts.Fields.resolve()); reasons != nil {
		p.Stuck = reasons
		return p
	}
	if p.From == p.To {
		p.Reached = true
		return p
	}

	c := NewController(spec, opts)
	sync := o.syncPeriod
	// Steady state: one sync at the old load is all the history that still
	// matters, because older identical recommendations expire earlier and
	// steady syncs record no scale events.
	c.StepUsageRatio(analysisEpoch.Add(-sync), p.From, steadyUsageRatio(p.From))

	current := p.From
	var at time.Duration
	for steps := 0; ; steps++ {
		if at > o.horizon || steps >= maxAnalysisSteps {
			p.Stuck = []StuckReason{c.tooSlow(dir, current, p.To, o.horizon, steps)}
			break
		}
		d := c.StepUsageRatio(analysisEpoch.Add(at), current, ratio)
		if d.Replicas != current {
			current = d.Replicas
			p.Points = append(p.Points, PathPoint{After: at, Replicas: current, Reason: d.Reason})
			if current == p.To {
				p.Reached, p.Duration = true, at
				break
			}
			at += sync
			continue
		}
		exit, ok := c.nextExit(analysisEpoch.Add(at), d.MetricReplicas)
		if !ok {
			p.Stuck = c.stuckAt(dir, current)
			break
		}
		at = nextSync(at, exit.Sub(analysisEpoch), sync)
	}
	p.Final = current
	return p
}

// nextSync is the first sync time (a multiple of sync) at or after instant
// and strictly after at.
func nextSync(at, instant, sync time.Duration) time.Duration {
	if instant <= at {
		return at + sync
	}
	k := instant / sync
	if k*sync < instant {
		k++
	}
	return k * sync
}

// stuckAt explains a path that reached a fixed point at replicas.
func (c *Controller) stuckAt(dir Direction, replicas int32) []StuckReason {
	var reasons []StuckReason
	if dir == ScaleUp {
		reasons = c.stuckUp(replicas)
	} else {
		reasons = c.stuckDown(replicas)
	}
	if len(reasons) > 0 {
		return reasons
	}
	return []StuckReason{{Direction: dir, Cause: CauseNoProgress, Replicas: replicas,
		Message: fmt.Sprintf("no further %s possible at %d replicas", dirWord(dir), replicas)}}
}

func (c *Controller) tooSlow(dir Direction, replicas, to int32, horizon time.Duration, steps int) StuckReason {
	msg := fmt.Sprintf("still at %d of %d replicas after %s", replicas, to, horizon)
	if steps >= maxAnalysisSteps {
		msg = fmt.Sprintf("still at %d of %d replicas after %d syncs", replicas, to, steps)
	}
	f := c.fields.scaleUp()
	if dir == ScaleDown {
		f = c.fields.scaleDown()
	}
	return StuckReason{Direction: dir, Cause: CauseTooSlow, Field: f, Replicas: replicas, Message: msg}
}

func dirWord(dir Direction) string {
	if dir == ScaleDown {
		return "scale-down"
	}
	return "scale-up"
}

// steadyUsageRatio is the usage ratio that keeps replicas where they are: 1
// (on target), or 0 at zero replicas, where any positive ratio would scale
// from zero.
func steadyUsageRatio(replicas int32) float64 {
	if replicas == 0 {
		return 0
	}
	return 1
}
