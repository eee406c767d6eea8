package scaling

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// The steps of one sync, one exported function each, for checks that feed
// the controller's own table tests to them (test/oracle reads those tables
// from k8s.io/kubernetes's horizontal_test.go). Each calls the function
// Controller.Step calls; none has a path of its own.

// Recommendation is one unstabilized proposal the controller remembers
// (timestampedRecommendation).
type Recommendation struct {
	Replicas int32
	At       time.Time
}

// StabilizeWithBehavior is stabilizeRecommendationWithBehaviors: the
// stabilized count, the AbleToScale reason it would give when the count
// differs from desired, and the history after desired is recorded. recs is
// not modified.
func StabilizeWithBehavior(recs []Recommendation, now time.Time, current, desired int32, upWindow, downWindow time.Duration) (int32, Reason, []Recommendation) {
	stabilized, reason, kept := stabilizeWithBehavior(toRecommendations(recs), now, current, desired, upWindow, downWindow)
	return stabilized, reason, fromRecommendations(kept)
}

// StabilizeLegacy is stabilizeRecommendation, the no-behavior path's
// scale-down stabilization over window.
func StabilizeLegacy(recs []Recommendation, now time.Time, desired int32, window time.Duration) (int32, []Recommendation) {
	stabilized, kept := stabilizeLegacy(toRecommendations(recs), now, desired, window)
	return stabilized, fromRecommendations(kept)
}

// LimitRate is convertDesiredReplicasWithBehaviorRate: the count the rate
// limits and bounds allow for a stabilized desired count, and the
// ScalingLimited reason. behavior is defaulted as the API server would.
func LimitRate(now time.Time, current, desired, minReplicas, maxReplicas int32,
	behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, scaleUps, scaleDowns []ScaleEvent) (int32, Reason) {
	if behavior == nil {
		behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	}
	return limitRate(now, current, desired, minReplicas, maxReplicas, DefaultedBehavior(behavior), scaleUps, scaleDowns)
}

// LimitLegacy is convertDesiredReplicasWithRules, the no-behavior path's
// bounds and scale-up cap.
func LimitLegacy(current, desired, minReplicas, maxReplicas int32) (int32, Reason) {
	return limitLegacy(current, desired, minReplicas, maxReplicas)
}

func toRecommendations(recs []Recommendation) []recommendation {
	if recs == nil {
		// nil is "no sync yet"; a table's empty history is an empty list.
		return []recommendation{}
	}
	out := make([]recommendation, len(recs))
	for i, r := range recs {
		out[i] = recommendation{replicas: r.Replicas, at: r.At}
	}
	return out
}

func fromRecommendations(recs []recommendation) []Recommendation {
	out := make([]Recommendation, len(recs))
	for i, r := range recs {
		out[i] = Recommendation{Replicas: r.replicas, At: r.at}
	}
	return out
}

// StoreScaleEvent is storeScaleEvent for one direction: change replicas
// added (or removed) at now, kept in events whose entries older than rules'
// longest policy period may be overwritten. Without rules (no behavior)
// nothing is stored. events is modified in place, as the controller does.
func StoreScaleEvent(events []ScaleEvent, now time.Time, rules *autoscalingv2.HPAScalingRules, change int32) []ScaleEvent {
	if rules == nil {
		return events
	}
	return storeScaleEvent(events, now, longestPolicyPeriod(rules), change)
}

// Outdated reports whether the controller has marked the event older than
// its direction's longest policy period, free to be overwritten.
func (e ScaleEvent) Outdated() bool { return e.outdated }
