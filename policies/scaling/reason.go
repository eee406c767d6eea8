package scaling

// Reason is the reason string the controller writes into an HPA condition
// (AbleToScale or ScalingLimited), or a scaleguard name for the branches where
// it writes none.
type Reason string

// ScalingLimited condition reasons: what capped the replica count.
const (
	ReasonDesiredWithinRange Reason = "DesiredWithinRange"
	ReasonScaleUpLimit       Reason = "ScaleUpLimit"
	ReasonScaleDownLimit     Reason = "ScaleDownLimit"
	ReasonTooManyReplicas    Reason = "TooManyReplicas"
	ReasonTooFewReplicas     Reason = "TooFewReplicas"
)

// AbleToScale condition reasons: what stabilization did to the recommendation.
const (
	ReasonScaleUpStabilized   Reason = "ScaleUpStabilized"
	ReasonScaleDownStabilized Reason = "ScaleDownStabilized"
	ReasonReadyForNewScale    Reason = "ReadyForNewScale"
)

// Branches before any normalization.
const (
	// ReasonScalingDisabled is the ScalingActive=False reason when the target
	// has zero replicas and minReplicas is not zero.
	ReasonScalingDisabled Reason = "ScalingDisabled"
	// ReasonAboveMaxReplicas and ReasonBelowMinReplicas name the controller's
	// direct jump to a bound ("Current number of replicas above
	// Spec.MaxReplicas"), which skips stabilization and rate limits.
	ReasonAboveMaxReplicas Reason = "AboveMaxReplicas"
	ReasonBelowMinReplicas Reason = "BelowMinReplicas"
)
