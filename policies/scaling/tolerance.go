package scaling

import (
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Tolerances is the dead band around a usage ratio of 1 inside which the
// controller keeps the current replica count (replica_calculator.go
// Tolerances). The two directions differ once behavior.scaleUp.tolerance or
// behavior.scaleDown.tolerance is set.
type Tolerances struct {
	ScaleUp   float64
	ScaleDown float64
}

// Within reports whether usageRatio is close enough to 1 that the controller
// does not rescale: 1-ScaleDown <= ratio <= 1+ScaleUp, inclusive on both ends
// as in the controller.
func (t Tolerances) Within(usageRatio float64) bool {
	return (1.0-t.ScaleDown) <= usageRatio && usageRatio <= (1.0+t.ScaleUp)
}

// TolerancesFor returns the tolerances the controller applies to spec: the
// cluster-wide tolerance (opts.Tolerance, default 0.1) for both directions,
// replaced per direction by behavior.scaleUp/scaleDown.tolerance when set
// (the controller's tolerancesForHpa). The API server drops those fields when
// the HPAConfigurableTolerance gate is off, so honouring them when present is
// right in both cases.
func TolerancesFor(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) Tolerances {
	cluster := opts.resolve().tolerance
	t := Tolerances{ScaleUp: cluster, ScaleDown: cluster}
	if spec == nil || spec.Behavior == nil {
		return t
	}
	if r := spec.Behavior.ScaleUp; r != nil && r.Tolerance != nil {
		t.ScaleUp = r.Tolerance.AsApproximateFloat64()
	}
	if r := spec.Behavior.ScaleDown; r != nil && r.Tolerance != nil {
		t.ScaleDown = r.Tolerance.AsApproximateFloat64()
	}
	return t
}

// ReplicasForUsageRatio is the replica calculator's step from a usage ratio
// (current metric / target) to a replica proposal, for the simple case where
// every current replica is a ready pod with metrics:
//   - inside the tolerance band the current count is kept;
//   - otherwise ceil(usageRatio × currentReplicas), capped at math.MaxInt32
//     as getUsageRatioReplicaCount caps it;
//   - from zero replicas (scale-to-zero HPAs) the proposal is ceil(usageRatio)
//     with no tolerance, as getUsageRatioReplicaCount does for Object and
//     External metrics. (Resource and Pods metrics cannot be measured on zero
//     pods; the controller then does not scale at all.)
//
// A NaN ratio keeps the current count rather than relying on the platform's
// NaN-to-int conversion.
func ReplicasForUsageRatio(currentReplicas int32, usageRatio float64, t Tolerances) int32 {
	if math.IsNaN(usageRatio) {
		return currentReplicas
	}
	if currentReplicas == 0 {
		return saturateInt32(math.Ceil(usageRatio))
	}
	if t.Within(usageRatio) {
		return currentReplicas
	}
	return saturateInt32(math.Ceil(usageRatio * float64(currentReplicas)))
}

// saturateInt32 converts like the controller's int32(f), truncating toward
// zero, but pins out-of-range values to the int32 limits where Go leaves the
// result to the platform.
func saturateInt32(f float64) int32 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}
