package policies

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// behaviorConsistency runs the HPA controller's own arithmetic on the HPA
// (after scaleguard's mutations) and reports settings that contradict each
// other. What can never work is a denial; what works badly is a warning:
//
//   - a direction that can never move (selectPolicy Disabled, scale-up from
//     0 replicas with only Percent policies, a tolerance no usage ratio can
//     leave): deny — the HPA would sit at one bound forever;
//   - the fastest path from minReplicas to maxReplicas, or back, takes longer
//     than the configured bound: warn, with the computed time;
//   - a scale-up window longer than the scale-down window: warn — the HPA
//     reacts to load more slowly than to its absence, the inverse of safe;
//   - minReplicas equal to maxReplicas: warn — the HPA can never scale.
//
// The arithmetic is k8s.io/kubernetes v1.37.2
// pkg/controller/podautoscaler/horizontal.go
// normalizeDesiredReplicasWithBehaviors, stabilizeRecommendationWithBehaviors,
// convertDesiredReplicasWithBehaviorRate and the scale limits
// (calculateScaleUpLimitWithScalingRules,
// calculateScaleDownLimitWithBehaviors), with replica_calculator.go's
// Tolerances.isWithin; policies/scaling names the function each of its own
// mirrors. The time bounds are scaleguard's own. The findings point where
// the object judged writes the HPA's fields (at).
func behaviorConsistency(hpa *autoscalingv2.HorizontalPodAutoscaler, s BehaviorConsistencySettings, at scaling.Fields) Findings {
	spec := &hpa.Spec
	opts := scaling.Options{
		SyncPeriod:                   time.Duration(s.SyncPeriodSeconds) * time.Second,
		DownscaleStabilizationWindow: ptr.To(time.Duration(s.DownscaleStabilizationSeconds) * time.Second),
		Fields:                       at,
	}
	minReplicas, maxReplicas := ptr.Deref(spec.MinReplicas, 1), spec.MaxReplicas
	if maxReplicas < minReplicas || minReplicas < 0 {
		// The API server refuses these bounds itself, with its own message.
		return nil
	}
	var out Findings
	if minReplicas == maxReplicas {
		out = append(out, Finding{Rule: BehaviorConsistency, Action: Warn, Path: at.MaxReplicas,
			Message: fmt.Sprintf("minReplicas equals maxReplicas (%d), so this HPA can never scale; raise spec.maxReplicas or remove the HPA", maxReplicas)})
		return out
	}
	blocked := map[scaling.Direction]bool{}
	for _, r := range scaling.Stuck(spec, opts) {
		blocked[r.Direction] = true
		path := at.Behavior
		if r.Field != nil {
			path = r.Field
		}
		out = append(out, Finding{Rule: BehaviorConsistency, Action: Deny, Path: path,
			Message: fmt.Sprintf("this HPA can never %s: %s%s", verb(r.Direction), r.Message, stuckFix(r.Cause))})
	}
	// A blocked direction is already denied; its path analysis would only
	// simulate an HPA that cannot move, so it is not run.
	check := func(dir scaling.Direction, limitSeconds int32, fastest func(*autoscalingv2.HorizontalPodAutoscalerSpec, scaling.Options) scaling.Path, fieldPath *field.Path) {
		if blocked[dir] {
			return
		}
		path := fastest(spec, opts)
		limit := time.Duration(limitSeconds) * time.Second
		switch {
		case !path.Reached:
			out = append(out, Finding{Rule: BehaviorConsistency, Action: Warn, Path: fieldPath,
				Message: fmt.Sprintf("%s from %d to %d replicas does not finish within %s (%s); allow larger or more frequent steps",
					noun(dir), path.From, path.To, path.Horizon, describeStuck(path.Stuck))})
		case path.Duration > limit:
			out = append(out, Finding{Rule: BehaviorConsistency, Action: Warn, Path: fieldPath,
				Message: fmt.Sprintf("%s from %d to %d replicas takes at least %s, over the %s allowed; allow larger or more frequent steps or a shorter window",
					noun(dir), path.From, path.To, path.Duration, limit)})
		}
	}
	check(scaling.ScaleUp, s.MaxScaleUpSeconds, scaling.FastestScaleUp, at.Behavior.Child("scaleUp"))
	check(scaling.ScaleDown, s.MaxScaleDownSeconds, scaling.FastestScaleDown, at.Behavior.Child("scaleDown"))

	if up, down := windows(spec.Behavior, s.DownscaleStabilizationSeconds); up > down {
		out = append(out, Finding{Rule: BehaviorConsistency, Action: Warn, Path: at.Behavior.Child("scaleUp", "stabilizationWindowSeconds"),
			Message: fmt.Sprintf("scale-up waits %ds but scale-down only %ds, so load is answered more slowly than its absence; make the scale-up window the shorter", up, down)})
	}
	return out
}

// windows returns the effective stabilization windows in seconds: an unset
// scale-down window is the controller's flag, an unset scale-up window 0.
func windows(b *autoscalingv2.HorizontalPodAutoscalerBehavior, defaultDown int32) (up, down int32) {
	down = defaultDown
	if b == nil {
		return 0, down
	}
	if b.ScaleUp != nil {
		up = ptr.Deref(b.ScaleUp.StabilizationWindowSeconds, 0)
	}
	if b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
		down = *b.ScaleDown.StabilizationWindowSeconds
	}
	return up, down
}

// stuckFix says what to write for each way a direction can be stuck.
func stuckFix(c scaling.Cause) string {
	switch c {
	case scaling.CauseDisabled:
		return "; set selectPolicy: Max or Min"
	case scaling.CausePercentFromZero:
		return "; add a Pods policy or set minReplicas to at least 1"
	case scaling.CauseTolerance:
		return "; lower the tolerance"
	case scaling.CauseNoPolicies, scaling.CauseNonPositivePolicy:
		return "; give a policy with a positive value"
	}
	return ""
}

func describeStuck(rs []scaling.StuckReason) string {
	if len(rs) == 0 {
		return "no progress"
	}
	return rs[0].Message
}

func verb(d scaling.Direction) string {
	switch d {
	case scaling.ScaleUp:
		return "scale up"
	case scaling.ScaleDown:
		return "scale down"
	}
	return "scale"
}

func noun(d scaling.Direction) string {
	if d == scaling.ScaleDown {
		return "scaling down"
	}
	return "scaling up"
}
