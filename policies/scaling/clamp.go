package scaling

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// limitRate applies the behavior's rate limits and the min/max bounds to a
// stabilized recommendation (convertDesiredReplicasWithBehaviorRate). Only the
// bound in the direction of travel is applied: a recommendation equal to
// current is returned as is. behavior must be defaulted.
func limitRate(now time.Time, current, desired, minReplicas, maxReplicas int32,
	behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, ups, downs []ScaleEvent) (int32, Reason) {
	switch {
	case desired > current:
		// A limit below current means earlier scale-ups used the budget up;
		// hold rather than scale down.
		limit := max(scaleUpLimit(now, current, ups, downs, behavior.ScaleUp), current)
		allowed, reason := maxReplicas, ReasonTooManyReplicas
		if allowed > limit {
			allowed, reason = limit, ReasonScaleUpLimit
		}
		if desired > allowed {
			return allowed, reason
		}
	case desired < current:
		limit := min(scaleDownLimit(now, current, ups, downs, behavior.ScaleDown), current)
		allowed, reason := minReplicas, ReasonTooFewReplicas
		if allowed < limit {
			allowed, reason = limit, ReasonScaleDownLimit
		}
		if desired < allowed {
			return allowed, reason
		}
	}
	return desired, ReasonDesiredWithinRange
}

// limitLegacy is the no-behavior clamp (convertDesiredReplicasWithRules): the
// min bound is checked first, then max(2×current, 4) or maxReplicas,
// whichever is lower.
func limitLegacy(current, desired, minReplicas, maxReplicas int32) (int32, Reason) {
	allowed, reason := maxReplicas, ReasonTooManyReplicas
	if limit := legacyScaleUpLimit(current); maxReplicas > limit {
		allowed, reason = limit, ReasonScaleUpLimit
	}
	switch {
	case desired < minReplicas:
		return minReplicas, ReasonTooFewReplicas
	case desired > allowed:
		return allowed, reason
	}
	return desired, ReasonDesiredWithinRange
}
