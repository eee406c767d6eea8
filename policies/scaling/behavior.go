package scaling

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Defaults the API server writes into a non-nil behavior
// (pkg/apis/autoscaling/v2/defaults.go). The controller never sees a nil
// field in a non-nil behavior except scaleDown.stabilizationWindowSeconds,
// which it fills from its own flag.
const (
	defaultScaleUpPods      int32 = 4
	defaultScaleUpPercent   int32 = 100
	defaultScaleUpPeriod    int32 = 15
	defaultScaleDownPercent int32 = 100
	defaultScaleDownPeriod  int32 = 15
)

// KubernetesScaleUpRules is what the API server fills into a scaleUp
// direction left empty in a non-nil behavior.
func KubernetesScaleUpRules() *autoscalingv2.HPAScalingRules {
	window := int32(0)
	selectMax := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: &window,
		SelectPolicy:               &selectMax,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: defaultScaleUpPods, PeriodSeconds: defaultScaleUpPeriod},
			{Type: autoscalingv2.PercentScalingPolicy, Value: defaultScaleUpPercent, PeriodSeconds: defaultScaleUpPeriod},
		},
	}
}

// KubernetesScaleDownRules is the same for scaleDown.
func KubernetesScaleDownRules() *autoscalingv2.HPAScalingRules {
	selectMax := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		// Left nil on purpose: the controller substitutes its
		// --horizontal-pod-autoscaler-downscale-stabilization flag.
		StabilizationWindowSeconds: nil,
		SelectPolicy:               &selectMax,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: defaultScaleDownPercent, PeriodSeconds: defaultScaleDownPeriod},
		},
	}
}

// DefaultedBehavior returns a deep copy of b with every unset field filled the
// way the API server fills it, so that offline manifests and admitted objects
// are judged alike. A nil behavior stays nil: the controller then takes its
// legacy path, which is not the same as the default behavior.
func DefaultedBehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	if b == nil {
		return nil
	}
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   overlayRules(b.ScaleUp, KubernetesScaleUpRules),
		ScaleDown: overlayRules(b.ScaleDown, KubernetesScaleDownRules),
	}
}

// overlayRules returns a deep copy of from with its nil fields taken from
// defaults, like the API server's copyHPAScalingRules. An empty but non-nil
// policy list is kept: it is not "unset", and the controller treats it
// differently from the default. defaults is built only when a field needs
// it: objects the API server has already defaulted (every admission review)
// need none.
func overlayRules(from *autoscalingv2.HPAScalingRules, defaults func() *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return defaults()
	}
	out := from.DeepCopy()
	if out.SelectPolicy != nil && out.StabilizationWindowSeconds != nil && out.Policies != nil {
		return out
	}
	d := defaults()
	if out.SelectPolicy == nil {
		out.SelectPolicy = d.SelectPolicy
	}
	if out.StabilizationWindowSeconds == nil {
		out.StabilizationWindowSeconds = d.StabilizationWindowSeconds
	}
	if out.Policies == nil {
		out.Policies = d.Policies
	}
	return out
}

// selectPolicy reads rules.selectPolicy the way the controller compares it:
// anything that is neither Disabled nor Min behaves as Max.
func selectPolicy(rules *autoscalingv2.HPAScalingRules) autoscalingv2.ScalingPolicySelect {
	if rules == nil || rules.SelectPolicy == nil {
		return autoscalingv2.MaxChangePolicySelect
	}
	switch *rules.SelectPolicy {
	case autoscalingv2.DisabledPolicySelect, autoscalingv2.MinChangePolicySelect:
		return *rules.SelectPolicy
	}
	return autoscalingv2.MaxChangePolicySelect
}

// replicaBounds returns minReplicas (nil means 1, the API server default) and
// maxReplicas of spec; a nil spec has bounds 1 and 0.
func replicaBounds(spec *autoscalingv2.HorizontalPodAutoscalerSpec) (minReplicas, maxReplicas int32) {
	if spec == nil {
		return 1, 0
	}
	minReplicas = 1
	if spec.MinReplicas != nil {
		minReplicas = *spec.MinReplicas
	}
	return minReplicas, spec.MaxReplicas
}
