package oracle

import (
	"fmt"
	"slices"
	"time"

	"github.com/scaleguard/scaleguard/explain"
	"github.com/scaleguard/scaleguard/policies/scaling"
)

// Disagreement is the first thing the two controllers did differently.
type Disagreement struct {
	// Sync is the index of the sync, At its time from the first.
	Sync int
	At   time.Duration
	// What differs, and each side's value.
	What                 string
	Upstream, Scaleguard string
}

func (d Disagreement) String() string {
	return fmt.Sprintf("sync %d (%s): %s: upstream %s, scaleguard %s", d.Sync, explain.FormatDuration(d.At), d.What, d.Upstream, d.Scaleguard)
}

// reasonSucceededRescale is the AbleToScale reason the controller writes
// after every rescale, over the stabilization reason of the same sync.
const reasonSucceededRescale = "SucceededRescale"

// Compare returns the first disagreement between the real controller's
// syncs and scaleguard's replay, or nil. Compared at every sync: the
// count before and after, the utilization each metric read, the metrics'
// proposal, and the AbleToScale and ScalingLimited reasons (and the
// ScalingLimited status) wherever the controller writes them.
func Compare(up []UpstreamSync, run explain.Run) *Disagreement {
	if len(up) != len(run.Syncs) {
		return &Disagreement{What: "number of syncs", Upstream: fmt.Sprint(len(up)), Scaleguard: fmt.Sprint(len(run.Syncs))}
	}
	for i, u := range up {
		s := run.Syncs[i]
		differ := func(what string, upstream, scaleguard any) *Disagreement {
			return &Disagreement{Sync: i, At: u.At, What: what, Upstream: fmt.Sprint(upstream), Scaleguard: fmt.Sprint(scaleguard)}
		}
		switch {
		case u.At != s.At-run.Syncs[0].At:
			return differ("time of the sync", u.At, s.At-run.Syncs[0].At)
		case u.Current != s.Current:
			return differ("replicas before the sync", u.Current, s.Current)
		case u.Replicas != s.Replicas:
			return differ("replicas after the sync", u.Replicas, s.Replicas)
		}
		switch s.Reason {
		case scaling.ReasonAboveMaxReplicas, scaling.ReasonBelowMinReplicas:
			// The jump to a bound: no metrics, no normalization, a rescale.
			if u.MetricLogged {
				return differ("metrics read", "yes", "no (jump to a bound)")
			}
			if u.AbleToScale != reasonSucceededRescale {
				return differ("AbleToScale reason", u.AbleToScale, reasonSucceededRescale)
			}
			continue
		case scaling.ReasonScalingDisabled:
			if u.ScalingActive != string(scaling.ReasonScalingDisabled) {
				return differ("ScalingActive reason", u.ScalingActive, s.Reason)
			}
			continue
		}
		if u.ScalingActive != "ValidMetricFound" || !u.MetricLogged {
			return differ("metrics", fmt.Sprintf("ScalingActive %s, proposal logged %v", u.ScalingActive, u.MetricLogged), "valid")
		}
		if s.Utilization != nil && !slices.Equal(u.Utilization, s.Utilization) {
			return differ("utilization read (%)", u.Utilization, s.Utilization)
		}
		if u.MetricReplicas != s.MetricReplicas {
			return differ("metrics' proposal", u.MetricReplicas, s.MetricReplicas)
		}
		able := string(s.Stabilization)
		if s.Rescaled {
			able = reasonSucceededRescale
		}
		switch {
		case u.AbleToScale != able:
			return differ("AbleToScale reason", u.AbleToScale, able)
		case u.ScalingLimited != string(s.Reason):
			return differ("ScalingLimited reason", u.ScalingLimited, s.Reason)
		case u.Limited != s.Limited:
			return differ("ScalingLimited status", u.Limited, s.Limited)
		}
	}
	return nil
}
