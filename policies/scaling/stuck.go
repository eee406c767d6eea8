package scaling

import (
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Cause classifies why an HPA cannot reach a bound, for callers that branch
// on it; the message is for people.
type Cause string

const (
	// CauseInvalidBounds: minReplicas is negative or above maxReplicas.
	CauseInvalidBounds Cause = "InvalidBounds"
	// CauseDisabled: selectPolicy is Disabled for the direction.
	CauseDisabled Cause = "Disabled"
	// CauseNoPolicies: an explicitly empty policy list allows no change.
	CauseNoPolicies Cause = "NoPolicies"
	// CausePercentFromZero: at 0 replicas every Percent policy allows 0.
	CausePercentFromZero Cause = "PercentFromZero"
	// CauseNonPositivePolicy: a policy value of zero or less allows no change.
	CauseNonPositivePolicy Cause = "NonPositivePolicy"
	// CauseTolerance: the tolerance band contains every reachable usage ratio.
	CauseTolerance Cause = "Tolerance"
	// CauseNoProgress: the limits allow no change for another reason.
	CauseNoProgress Cause = "NoProgress"
	// CauseTooSlow: the bound was not reached within the analysis horizon.
	CauseTooSlow Cause = "TooSlow"
)

// StuckReason explains why scaling in one direction stops at Replicas.
type StuckReason struct {
	// Direction is the scaling that is blocked; empty for invalid bounds,
	// which block both.
	Direction Direction
	Cause     Cause
	// Field is the spec field to change to fix it.
	Field *field.Path
	// Replicas is the count the HPA cannot move away from.
	Replicas int32
	// Message is short enough for a kubectl warning.
	Message string
}

func (r StuckReason) String() string {
	if r.Field == nil {
		return r.Message
	}
	return r.Field.String() + ": " + r.Message
}

// Stuck reports, without simulating, why spec can never scale from
// minReplicas up to maxReplicas or from maxReplicas down to minReplicas,
// however high or low the load. It returns nil when both bounds are
// reachable (or equal, which pins the replica count on purpose).
func Stuck(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) []StuckReason {
	if reasons := boundsReasons(spec, opts.Fields.resolve()); reasons != nil {
		return reasons
	}
	minReplicas, maxReplicas := replicaBounds(spec)
	if minReplicas == maxReplicas {
		return nil
	}
	c := NewController(spec, opts)
	return append(c.stuckUp(minReplicas), c.stuckDown(maxReplicas)...)
}

// boundsReasons rejects bounds the analyses cannot start from. The API server
// rejects them too, but offline manifests have not met it.
func boundsReasons(spec *autoscalingv2.HorizontalPodAutoscalerSpec, at Fields) []StuckReason {
	minReplicas, maxReplicas := replicaBounds(spec)
	switch {
	case minReplicas < 0:
		return []StuckReason{{Cause: CauseInvalidBounds, Field: at.MinReplicas, Replicas: minReplicas,
			Message: fmt.Sprintf("minReplicas %d is negative", minReplicas)}}
	case maxReplicas < minReplicas:
		return []StuckReason{{Cause: CauseInvalidBounds, Field: at.MaxReplicas, Replicas: minReplicas,
			Message: fmt.Sprintf("maxReplicas %d is below minReplicas %d", maxReplicas, minReplicas)}}
	}
	return nil
}

// stuckUp explains why infinite demand cannot move the HPA above replicas
// once its history has expired; nil means it can.
func (c *Controller) stuckUp(replicas int32) []StuckReason {
	if c.tolerances.Within(math.Inf(1)) {
		return []StuckReason{{Direction: ScaleUp, Cause: CauseTolerance, Field: c.fields.scaleUp().Child("tolerance"), Replicas: replicas,
			Message: "scale-up tolerance is infinite: never scales up"}}
	}
	if c.behavior == nil {
		if legacyScaleUpLimit(replicas) > replicas {
			return nil
		}
		return []StuckReason{{Direction: ScaleUp, Cause: CauseNoProgress, Field: c.fields.MaxReplicas, Replicas: replicas,
			Message: fmt.Sprintf("cannot scale above %d replicas", replicas)}}
	}
	rules := c.behavior.ScaleUp
	if selectPolicy(rules) == autoscalingv2.DisabledPolicySelect {
		return []StuckReason{{Direction: ScaleUp, Cause: CauseDisabled, Field: c.fields.scaleUp().Child("selectPolicy"), Replicas: replicas,
			Message: fmt.Sprintf("scale-up is Disabled: stays at %d replicas", replicas)}}
	}
	if scaleUpLimit(analysisEpoch, replicas, nil, nil, rules) > replicas {
		return nil
	}
	return []StuckReason{explainNoChange(rules, c.fields.scaleUp(), replicas, ScaleUp)}
}

// stuckDown explains why zero demand cannot move the HPA below replicas once
// its history has expired; nil means it can.
func (c *Controller) stuckDown(replicas int32) []StuckReason {
	if c.tolerances.Within(0) {
		return []StuckReason{{Direction: ScaleDown, Cause: CauseTolerance, Field: c.fields.scaleDown().Child("tolerance"), Replicas: replicas,
			Message: fmt.Sprintf("scale-down tolerance %g >= 1: usage can never fall below the band, stays at %d replicas",
				c.tolerances.ScaleDown, replicas)}}
	}
	if c.behavior == nil {
		return nil
	}
	rules := c.behavior.ScaleDown
	if selectPolicy(rules) == autoscalingv2.DisabledPolicySelect {
		return []StuckReason{{Direction: ScaleDown, Cause: CauseDisabled, Field: c.fields.scaleDown().Child("selectPolicy"), Replicas: replicas,
			Message: fmt.Sprintf("scale-down is Disabled: stays at %d replicas", replicas)}}
	}
	if scaleDownLimit(analysisEpoch, replicas, nil, nil, rules) < replicas {
		return nil
	}
	return []StuckReason{explainNoChange(rules, c.fields.scaleDown(), replicas, ScaleDown)}
}

// explainNoChange names the policy problem behind a rate limit that allows no
// change at replicas.
func explainNoChange(rules *autoscalingv2.HPAScalingRules, path *field.Path, replicas int32, dir Direction) StuckReason {
	direction := "up"
	if dir == ScaleDown {
		direction = "down"
	}
	policies := path.Child("policies")
	if len(rules.Policies) == 0 {
		return StuckReason{Direction: dir, Cause: CauseNoPolicies, Field: policies, Replicas: replicas,
			Message: fmt.Sprintf("no policies: never scales %s from %d replicas", direction, replicas)}
	}
	if replicas == 0 && dir == ScaleUp {
		for _, p := range rules.Policies {
			if p.Type != autoscalingv2.PercentScalingPolicy {
				continue
			}
			msg := "Percent policies add nothing to 0 replicas: never scales up from 0"
			if selectPolicy(rules) == autoscalingv2.MinChangePolicySelect {
				msg = "selectPolicy Min picks a Percent policy, which adds nothing to 0 replicas: never scales up from 0"
			}
			return StuckReason{Direction: dir, Cause: CausePercentFromZero, Field: policies, Replicas: 0, Message: msg}
		}
	}
	for i, p := range rules.Policies {
		if p.Value <= 0 {
			return StuckReason{Direction: dir, Cause: CauseNonPositivePolicy, Field: policies.Index(i).Child("value"), Replicas: replicas,
				Message: fmt.Sprintf("value %d allows no change: never scales %s from %d replicas", p.Value, direction, replicas)}
		}
	}
	return StuckReason{Direction: dir, Cause: CauseNoProgress, Field: policies, Replicas: replicas,
		Message: fmt.Sprintf("policies allow no change: never scales %s from %d replicas", direction, replicas)}
}
