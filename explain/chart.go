package explain

import (
	"strings"
	"time"
)

// Point is a replica count from a moment on.
type Point struct {
	At       time.Duration
	Replicas int32
}

// Series is one replica trajectory. It is a step function, as a replica
// count is: each point's count holds until the next point, and the last one
// until the end of the chart.
type Series struct {
	Name   string
	Points []Point
}

// valueAt returns the count in force at t; ok is false before the first
// point.
func (s Series) valueAt(t time.Duration) (v int32, ok bool) {
	for _, p := range s.Points {
		if p.At > t {
			break
		}
		v, ok = p.Replicas, true
	}
	return v, ok
}

// Chart is a set of replica trajectories on one time axis, with the HPA's
// bounds as reference lines. Every renderer (Text, SVG, PNG) draws the same
// chart, and all of them are deterministic.
type Chart struct {
	Title string
	// XLabel says what the time axis counts from.
	XLabel string
	Series []Series
	// MinReplicas and MaxReplicas are the HPA's bounds.
	MinReplicas, MaxReplicas int32
	// Start and End bound the time axis; an End not after Start means "the
	// last point".
	Start, End time.Duration
}

// timeRange is the drawn span of the time axis, never empty.
func (c Chart) timeRange() (start, end time.Duration) {
	start, end = c.Start, c.End
	if end <= start {
		for _, s := range c.Series {
			for _, p := range s.Points {
				end = max(end, p.At)
			}
		}
	}
	if end <= start {
		end = start + 15*time.Second
	}
	return start, end
}

// replicaRange is the drawn span of the replica axis: the bounds and every
// point, never empty.
func (c Chart) replicaRange() (lo, hi int32) {
	lo, hi = c.MinReplicas, c.MaxReplicas
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = min(lo, p.Replicas), max(hi, p.Replicas)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// niceDurations are the steps the time axis ticks at.
var niceDurations = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeTicks returns at most maxTicks tick positions, at a nice step, within
// [start, end].
func timeTicks(start, end time.Duration, maxTicks int) []time.Duration {
	step := niceDurations[len(niceDurations)-1]
	for _, d := range niceDurations {
		if int((end-start)/d)+1 <= maxTicks {
			step = d
			break
		}
	}
	var ticks []time.Duration
	first := (start + step - 1) / step * step
	if start < 0 {
		first = start / step * step
	}
	for t := first; t <= end; t += step {
		ticks = append(ticks, t)
	}
	return ticks
}

// replicaTicks returns at most maxTicks replica counts at a step of 1, 2 or
// 5 times a power of ten, within [lo, hi].
func replicaTicks(lo, hi int32, maxTicks int) []int32 {
	step := int64(1)
search:
	for base := int64(1); base < 1e10; base *= 10 {
		for _, m := range []int64{1, 2, 5} {
			step = base * m
			if (int64(hi)-int64(lo))/step+1 <= int64(maxTicks) {
				break search
			}
		}
	}
	var ticks []int32
	first := (int64(lo) + step - 1) / step * step
	if lo < 0 {
		first = int64(lo) / step * step
	}
	for v := first; v <= int64(hi); v += step {
		ticks = append(ticks, int32(v))
	}
	return ticks
}

// FormatDuration writes d compactly: 0, 45s, 1m30s, 2h, 1h5m.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
