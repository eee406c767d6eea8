package scaling

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Controller is the HPA controller's decision logic for one HPA, with the
// memory the real controller keeps between syncs: past recommendations for
// stabilization and past scale events for rate limiting. Step it once per
// sync, in time order, with the target's current replica count.
//
// A Controller is not safe for concurrent use; replaying one trace is
// sequential anyway.
type Controller struct {
	minReplicas int32
	maxReplicas int32
	// behavior is the defaulted spec.behavior; nil selects the legacy path.
	behavior   *autoscalingv2.HorizontalPodAutoscalerBehavior
	upWindow   time.Duration
	downWindow time.Duration
	// legacyWindow is the downscale stabilization of the legacy path, which
	// uses the flag without rounding it to whole seconds.
	legacyWindow time.Duration
	tolerances   Tolerances
	// fields are where the reasons the analyses give point.
	fields Fields

	// recommendations is nil until the first Step, mirroring the
	// controller's recordInitialRecommendation.
	recommendations []recommendation
	scaleUps        []ScaleEvent
	scaleDowns      []ScaleEvent
}

// Decision is the outcome of one sync.
type Decision struct {
	// Replicas is the replica count after the sync: the new spec.replicas
	// when Rescaled, the current count otherwise.
	Replicas int32
	Rescaled bool
	// MetricReplicas is the proposal from metrics, floored at 0, before any
	// normalization (zero when the metrics branch was not reached).
	MetricReplicas int32
	// StabilizedReplicas is MetricReplicas after the stabilization windows.
	StabilizedReplicas int32
	// Stabilization is the AbleToScale reason (ScaleUpStabilized,
	// ScaleDownStabilized or ReadyForNewScale); empty outside the metrics
	// branch.
	Stabilization Reason
	// Reason is the ScalingLimited reason (DesiredWithinRange, ScaleUpLimit,
	// ScaleDownLimit, TooManyReplicas, TooFewReplicas) or, outside the metrics
	// branch, ScalingDisabled, AboveMaxReplicas or BelowMinReplicas.
	Reason Reason
	// Limited is the ScalingLimited condition status: the rate limits or
	// bounds changed the stabilized recommendation.
	Limited bool
}

// NewController returns a Controller for spec with no history. spec is
// defaulted as the API server would and copied; later changes to it are not
// seen. A nil spec is treated as an empty one.
func NewController(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) *Controller {
	o := opts.resolve()
	c := &Controller{
		legacyWindow: o.downscaleStabilization,
		tolerances:   TolerancesFor(spec, opts),
		fields:       opts.Fields.resolve(),
	}
	c.minReplicas, c.maxReplicas = replicaBounds(spec)
	if spec == nil || spec.Behavior == nil {
		return c
	}
	c.behavior = DefaultedBehavior(spec.Behavior)
	c.upWindow = windowOf(c.behavior.ScaleUp.StabilizationWindowSeconds, 0)
	// maybeInitScaleDownStabilizationWindow keeps whole seconds of the flag.
	c.downWindow = windowOf(c.behavior.ScaleDown.StabilizationWindowSeconds, saturateInt32(o.downscaleStabilization.Seconds()))
	return c
}

func windowOf(seconds *int32, fallback int32) time.Duration {
	s := fallback
	if seconds != nil {
		s = *seconds
	}
	return time.Second * time.Duration(s)
}

// Tolerances returns the tolerances StepUsageRatio applies.
func (c *Controller) Tolerances() Tolerances { return c.tolerances }

// StepUsageRatio runs one sync with a single metric whose usage ratio
// (current / target) is usageRatio: the ratio becomes a replica proposal with
// ReplicasForUsageRatio, then Step decides.
func (c *Controller) StepUsageRatio(now time.Time, currentReplicas int32, usageRatio float64) Decision {
	return c.Step(now, currentReplicas, ReplicasForUsageRatio(currentReplicas, usageRatio, c.tolerances))
}

// Step runs one sync at now, in the controller's order: out-of-bounds
// targets jump to the bound; otherwise the metric proposal is stabilized,
// rate-limited by past scale events and clamped to min/max (or, without
// behavior, stabilized downward and clamped with the legacy scale-up cap).
// metricReplicas is the maximum over the HPA's metrics of their proposals.
func (c *Controller) Step(now time.Time, currentReplicas, metricReplicas int32) Decision {
	if c.recommendations == nil {
		c.recommendations = []recommendation{{replicas: currentReplicas, at: now}}
	}
	d := Decision{Replicas: currentReplicas}
	var desired int32
	switch {
	case currentReplicas == 0 && c.minReplicas != 0:
		d.Reason = ReasonScalingDisabled
		return d
	case currentReplicas > c.maxReplicas:
		desired, d.Reason = c.maxReplicas, ReasonAboveMaxReplicas
	case currentReplicas < c.minReplicas:
		desired, d.Reason = c.minReplicas, ReasonBelowMinReplicas
	default:
		d.MetricReplicas = max(metricReplicas, 0)
		desired = c.normalize(now, currentReplicas, &d)
	}
	if desired != currentReplicas {
		d.Replicas, d.Rescaled = desired, true
		c.recordScaleEvent(now, currentReplicas, desired)
	}
	return d
}

// normalize turns d.MetricReplicas into the replica count to set and fills
// the stabilization and limit fields of d.
func (c *Controller) normalize(now time.Time, current int32, d *Decision) int32 {
	var replicas int32
	if c.behavior == nil {
		d.StabilizedReplicas, c.recommendations = stabilizeLegacy(c.recommendations, now, d.MetricReplicas, c.legacyWindow)
		d.Stabilization = ReasonScaleDownStabilized
		replicas, d.Reason = limitLegacy(current, d.StabilizedReplicas, c.minReplicas, c.maxReplicas)
	} else {
		d.StabilizedReplicas, d.Stabilization, c.recommendations = stabilizeWithBehavior(
			c.recommendations, now, current, d.MetricReplicas, c.upWindow, c.downWindow)
		replicas, d.Reason = limitRate(now, current, d.StabilizedReplicas, c.minReplicas, c.maxReplicas,
			c.behavior, c.scaleUps, c.scaleDowns)
	}
	if d.StabilizedReplicas == d.MetricReplicas {
		d.Stabilization = ReasonReadyForNewScale
	}
	d.Limited = replicas != d.StabilizedReplicas
	return replicas
}

// recordScaleEvent remembers a rescale for the rate limits. Without behavior
// the controller keeps no events: the legacy path has no periods.
func (c *Controller) recordScaleEvent(now time.Time, from, to int32) {
	if c.behavior == nil {
		return
	}
	if to > from {
		c.scaleUps = storeScaleEvent(c.scaleUps, now, longestPolicyPeriod(c.behavior.ScaleUp), to-from)
	} else {
		c.scaleDowns = storeScaleEvent(c.scaleDowns, now, longestPolicyPeriod(c.behavior.ScaleDown), from-to)
	}
}

// nextExit returns the earliest instant after now at which a remembered
// recommendation or scale event stops counting in a way that can change a
// sync whose metric proposal is desired. Between two such instants, with the
// same current count and the same proposal, every sync decides the same
// thing; the path analyses use this to skip syncs that cannot change
// anything. A recommendation matters only while it can move the stabilized
// value: below desired for the scale-up window, above it for the scale-down
// window. Every event is considered for every policy period of both
// directions, an over-approximation that costs steps, never exactness. ok is
// false when nothing that matters will ever expire.
func (c *Controller) nextExit(now time.Time, desired int32) (next time.Time, ok bool) {
	consider := func(t time.Time) {
		if t.After(now) && (!ok || t.Before(next)) {
			next, ok = t, true
		}
	}
	if c.behavior == nil {
		for _, r := range c.recommendations {
			if r.replicas > desired {
				// The legacy window is closed at the old end: a
				// recommendation stops counting one instant after it is
				// window-old.
				consider(r.at.Add(c.legacyWindow + time.Nanosecond))
			}
		}
		return next, ok
	}
	for _, r := range c.recommendations {
		switch {
		case r.replicas < desired:
			consider(r.at.Add(c.upWindow))
		case r.replicas > desired:
			consider(r.at.Add(c.downWindow))
		}
	}
	for _, rules := range []*autoscalingv2.HPAScalingRules{c.behavior.ScaleUp, c.behavior.ScaleDown} {
		for _, p := range rules.Policies {
			period := time.Second * time.Duration(p.PeriodSeconds)
			for _, e := range c.scaleUps {
				consider(e.At.Add(period))
			}
			for _, e := range c.scaleDowns {
				consider(e.At.Add(period))
			}
		}
	}
	return next, ok
}
