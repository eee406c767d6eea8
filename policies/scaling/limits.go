package scaling

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// ScaleEvent is one rescale the controller remembers for rate limiting.
// Change is how many replicas were added (in a scale-up list) or removed (in
// a scale-down list), never negative, as the controller stores it.
type ScaleEvent struct {
	At     time.Time
	Change int32

	// outdated marks an event older than the longest policy period of its
	// direction; the controller overwrites such an event before appending.
	outdated bool
}

// ReplicasChangeInPeriod sums the changes of events strictly newer than
// now-periodSeconds (getReplicasChangePerPeriod). The sum wraps like the
// controller's int32 sum.
func ReplicasChangeInPeriod(now time.Time, periodSeconds int32, events []ScaleEvent) int32 {
	cutoff := now.Add(-time.Second * time.Duration(periodSeconds))
	var sum int32
	for _, e := range events {
		if e.At.After(cutoff) {
			sum += e.Change
		}
	}
	return sum
}

// PercentScaleUpLimit is the most replicas a Percent scale-up policy allows:
// ceil(start × (1 + percent/100)) in float64. Rounding up lets small
// percentages still add a pod; float64 makes 25 @ 12 % give 29.
func PercentScaleUpLimit(periodStartReplicas, percent int32) int32 {
	return saturateInt32(math.Ceil(float64(periodStartReplicas) * (1 + float64(percent)/100)))
}

// PercentScaleDownLimit is the fewest replicas a Percent scale-down policy
// allows: trunc(start × (1 − percent/100)) in float64, so 10 @ 90 % gives 0.
func PercentScaleDownLimit(periodStartReplicas, percent int32) int32 {
	return saturateInt32(float64(periodStartReplicas) * (1 - float64(percent)/100))
}

// ScaleUpLimit is the highest replica count rules allow at now
// (calculateScaleUpLimitWithScalingRules). Each policy measures from the
// replica count at the start of its period, reconstructed from current by
// undoing the scale-ups and scale-downs recorded within the period; Max takes
// the most permissive policy, Min the least, Disabled returns current. rules
// are defaulted first, so nil fields mean what they mean in a stored object.
func ScaleUpLimit(now time.Time, currentReplicas int32, scaleUps, scaleDowns []ScaleEvent, rules *autoscalingv2.HPAScalingRules) int32 {
	return scaleUpLimit(now, currentReplicas, scaleUps, scaleDowns, overlayRules(rules, KubernetesScaleUpRules))
}

// ScaleDownLimit is the lowest replica count rules allow at now
// (calculateScaleDownLimitWithBehaviors), the mirror image of ScaleUpLimit.
func ScaleDownLimit(now time.Time, currentReplicas int32, scaleUps, scaleDowns []ScaleEvent, rules *autoscalingv2.HPAScalingRules) int32 {
	return scaleDownLimit(now, currentReplicas, scaleUps, scaleDowns, overlayRules(rules, KubernetesScaleDownRules))
}

// scaleUpLimit expects defaulted rules. proposed lives outside the loop as in
// the controller, so a policy of unknown type repeats the previous proposal.
func scaleUpLimit(now time.Time, current int32, ups, downs []ScaleEvent, rules *autoscalingv2.HPAScalingRules) int32 {
	var result int32
	pick := maxInt32
	switch selectPolicy(rules) {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result, pick = math.MaxInt32, minInt32
	default:
		result = math.MinInt32
	}
	var proposed int32
	for _, p := range rules.Policies {
		start := periodStartReplicas(now, current, p.PeriodSeconds, ups, downs)
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = PercentScaleUpLimit(start, p.Value)
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit expects defaulted rules; for scale-down, Min (least change)
// keeps the highest proposal and Max the lowest.
func scaleDownLimit(now time.Time, current int32, ups, downs []ScaleEvent, rules *autoscalingv2.HPAScalingRules) int32 {
	var result int32
	pick := minInt32
	switch selectPolicy(rules) {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result, pick = math.MinInt32, maxInt32
	default:
		result = math.MaxInt32
	}
	var proposed int32
	for _, p := range rules.Policies {
		start := periodStartReplicas(now, current, p.PeriodSeconds, ups, downs)
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = PercentScaleDownLimit(start, p.Value)
		}
		result = pick(result, proposed)
	}
	return result
}

// periodStartReplicas undoes the changes of both directions within the
// period. Counting both (kubernetes PR #109058) keeps a recent scale-down from
// eating into the scale-up budget and vice versa.
func periodStartReplicas(now time.Time, current, periodSeconds int32, ups, downs []ScaleEvent) int32 {
	return current - ReplicasChangeInPeriod(now, periodSeconds, ups) + ReplicasChangeInPeriod(now, periodSeconds, downs)
}

// Legacy (behavior: nil) scale-up cap: the controller's scaleUpLimitFactor
// and scaleUpLimitMinimum, there to survive bogus metrics (kubernetes #32304).
const (
	legacyScaleUpFactor  = 2.0
	legacyScaleUpMinimum = 4.0
)

// legacyScaleUpLimit is calculateScaleUpLimit: max(2 × current, 4) in float64.
func legacyScaleUpLimit(current int32) int32 {
	return saturateInt32(math.Max(legacyScaleUpFactor*float64(current), legacyScaleUpMinimum))
}

// longestPolicyPeriod is the longest periodSeconds of rules, at least 0: the
// age beyond which the controller may overwrite a stored event.
func longestPolicyPeriod(rules *autoscalingv2.HPAScalingRules) int32 {
	var longest int32
	if rules == nil {
		return 0
	}
	for _, p := range rules.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return longest
}

// storeScaleEvent records a rescale the way storeScaleEvent does: events
// older than the direction's longest policy period are marked outdated, and
// the last outdated slot is overwritten instead of growing the list. An old
// event that survives can still count for the other direction's longer
// periods, which is why the slot reuse is reproduced and not simplified.
func storeScaleEvent(events []ScaleEvent, now time.Time, longestPeriodSeconds, change int32) []ScaleEvent {
	cutoff := now.Add(-time.Second * time.Duration(longestPeriodSeconds))
	slot := -1
	for i := range events {
		if events[i].At.Before(cutoff) {
			events[i].outdated = true
		}
		if events[i].outdated {
			slot = i
		}
	}
	e := ScaleEvent{At: now, Change: change}
	if slot >= 0 {
		events[slot] = e
		return events
	}
	return append(events, e)
}

// minInt32 and maxInt32 exist because the min and max builtins cannot be
// stored in a variable.
func minInt32(a, b int32) int32 { return min(a, b) }
func maxInt32(a, b int32) int32 { return max(a, b) }
