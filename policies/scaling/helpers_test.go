package scaling

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// testNow is the instant table tests measure event and recommendation ages
// from; fixed so no test depends on the wall clock.
var testNow = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

func ptrTo[T any](v T) *T { return &v }

func quantity(s string) *resource.Quantity { return ptrTo(resource.MustParse(s)) }

func pods(value, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: value, PeriodSeconds: period}
}

func percent(value, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: value, PeriodSeconds: period}
}

// rulesOf builds scaling rules like the controller tests' generateScalingRules:
// selectPolicy Max, the Pods policy first, zero values leave a policy out.
func rulesOf(podsValue, podsPeriod, percentValue, percentPeriod, window int32) *autoscalingv2.HPAScalingRules {
	r := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptrTo(window),
		SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
	}
	if podsValue != 0 {
		r.Policies = append(r.Policies, pods(podsValue, podsPeriod))
	}
	if percentValue != 0 {
		r.Policies = append(r.Policies, percent(percentValue, percentPeriod))
	}
	return r
}

// minChange is selectPolicy Min over ps, with nothing else set.
func minChange(ps ...autoscalingv2.HPAScalingPolicy) *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{SelectPolicy: ptrTo(autoscalingv2.MinChangePolicySelect), Policies: ps}
}

func withSelect(r *autoscalingv2.HPAScalingRules, s autoscalingv2.ScalingPolicySelect) *autoscalingv2.HPAScalingRules {
	r.SelectPolicy = ptrTo(s)
	return r
}

// uniformEvents spreads changes over the periodSeconds before testNow, each in
// the middle of its segment, truncated to whole seconds, like the controller
// tests' generateEventsUniformDistribution: {1, 5, 9} over 120 s lands at
// -100 s, -60 s and -20 s.
func uniformEvents(changes []int32, periodSeconds int) []ScaleEvent {
	events := make([]ScaleEvent, len(changes))
	segment := float64(periodSeconds) / float64(len(changes))
	for i, c := range changes {
		age := time.Duration(float64(periodSeconds) - segment*float64(i+1) + segment/2)
		events[i] = ScaleEvent{At: testNow.Add(-time.Second * age), Change: c}
	}
	return events
}

func eventAt(ageSeconds int, change int32) ScaleEvent {
	return ScaleEvent{At: testNow.Add(-time.Duration(ageSeconds) * time.Second), Change: change}
}

// designCardSpec is the behavior scaleguard injects (DESIGN.md).
func designCardSpec() *autoscalingv2.HorizontalPodAutoscalerSpec {
	return &autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: ptrTo[int32](2),
		MaxReplicas: 10,
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptrTo[int32](300),
				Policies:                   []autoscalingv2.HPAScalingPolicy{percent(50, 60)},
			},
			ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptrTo[int32](0),
				SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
				Policies:                   []autoscalingv2.HPAScalingPolicy{percent(100, 30), pods(2, 30)},
			},
		},
	}
}

func specWith(minReplicas *int32, maxReplicas int32, up, down *autoscalingv2.HPAScalingRules) *autoscalingv2.HorizontalPodAutoscalerSpec {
	return &autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: minReplicas,
		MaxReplicas: maxReplicas,
		Behavior:    &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: up, ScaleDown: down},
	}
}
