package scaling

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Mirrors TestScalingWithRules in the controller's horizontal_test.go (same
// specs, events and expectations, re-derived), plus cases with events in both
// directions that only the current periodStartReplicas formula passes.
func TestLimitRate(t *testing.T) {
	tests := map[string]struct {
		ups, downs       []ScaleEvent
		minReplicas      int32
		maxReplicas      int32
		up, down         *autoscalingv2.HPAScalingRules
		current, desired int32
		wantReplicas     int32
		wantReason       Reason
	}{
		"within range": {current: 5, desired: 7, minReplicas: 3, maxReplicas: 8,
			wantReplicas: 7, wantReason: ReasonDesiredWithinRange},
		"below minReplicas": {current: 3, desired: 1, minReplicas: 2, maxReplicas: 8,
			wantReplicas: 2, wantReason: ReasonTooFewReplicas},
		"zero within range when minReplicas is 0": {current: 1, desired: 0, minReplicas: 0, maxReplicas: 10,
			wantReplicas: 0, wantReason: ReasonDesiredWithinRange},
		"maxReplicas below the default limit": {current: 20, desired: 1000, minReplicas: 1, maxReplicas: 10,
			wantReplicas: 10, wantReason: ReasonTooManyReplicas},
		"desired above maxReplicas": {current: 100, desired: 1000, minReplicas: 100, maxReplicas: 150,
			wantReplicas: 150, wantReason: ReasonTooManyReplicas},
		"user scale-up limit below maxReplicas": {current: 3, desired: 1000, minReplicas: 1, maxReplicas: 2000,
			up: rulesOf(0, 0, 1, 60, 0), wantReplicas: 4, wantReason: ReasonScaleUpLimit},
		"user scale-down limit above minReplicas": {current: 1000, desired: 3, minReplicas: 3, maxReplicas: 2000,
			down: rulesOf(20, 60, 0, 0, 0), wantReplicas: 980, wantReason: ReasonScaleDownLimit},
		"scale-up with default behavior": {current: 10, desired: 50, minReplicas: 1, maxReplicas: 1000,
			wantReplicas: 20, wantReason: ReasonScaleUpLimit},
		"pods policy larger than percent policy": {current: 10, desired: 500, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(100, 60, 100, 60, 0), wantReplicas: 110, wantReason: ReasonScaleUpLimit},
		"percent policy larger than pods policy": {current: 10, desired: 500, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(2, 60, 100, 60, 0), wantReplicas: 20, wantReason: ReasonScaleUpLimit},
		"large pods policy does not limit": {current: 10, desired: 50, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(100, 60, 0, 0, 0), wantReplicas: 50, wantReason: ReasonDesiredWithinRange},
		"pods policy limits": {current: 10, desired: 50, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(30, 60, 0, 0, 0), wantReplicas: 40, wantReason: ReasonScaleUpLimit},
		"percent policy limits": {current: 10, desired: 50, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(0, 0, 200, 60, 0), wantReplicas: 30, wantReason: ReasonScaleUpLimit},
		"scale-down: Max of pods 20 and 1% is 80": {current: 100, desired: 2, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(20, 60, 1, 60, 300), wantReplicas: 80, wantReason: ReasonScaleDownLimit},
		"scale-down: Max of pods 2 and 1% is 98": {current: 100, desired: 2, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(2, 60, 1, 60, 300), wantReplicas: 98, wantReason: ReasonScaleDownLimit},
		"scale-down to minReplicas with a large pods policy": {current: 10, desired: 0, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(100, 60, 0, 0, 300), wantReplicas: 1, wantReason: ReasonTooFewReplicas},
		"scale-down to minReplicas with a large percent policy": {current: 10, desired: 2, minReplicas: 5, maxReplicas: 1000,
			down: rulesOf(0, 0, 100, 60, 300), wantReplicas: 5, wantReason: ReasonTooFewReplicas},
		"scale-down pods policy limits": {current: 10, desired: 2, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(5, 60, 0, 0, 300), wantReplicas: 5, wantReason: ReasonScaleDownLimit},
		"scale-down percent policy allows exactly desired": {current: 10, desired: 5, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(0, 0, 50, 60, 300), wantReplicas: 5, wantReason: ReasonDesiredWithinRange},

		// Scale-up with periodSeconds and earlier scale-ups at -100 s, -60 s, -20 s.
		"large pods policy and events, capped by maxReplicas": {ups: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 500, minReplicas: 1, maxReplicas: 200,
			up: rulesOf(300, 60, 0, 0, 0), wantReplicas: 200, wantReason: ReasonTooManyReplicas},
		"large percent policy and events, capped by maxReplicas": {ups: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 500, minReplicas: 1, maxReplicas: 200,
			up: rulesOf(0, 0, 10000, 60, 0), wantReplicas: 200, wantReason: ReasonTooManyReplicas},
		"budget used up by recent scale-ups holds current": {ups: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 500, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(5, 120, 0, 0, 0), wantReplicas: 100, wantReason: ReasonScaleUpLimit},
		"pods policy from the period start (100-15+150)": {ups: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 500, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(150, 120, 0, 0, 0), wantReplicas: 235, wantReason: ReasonScaleUpLimit},
		"percent policy from the period start (85*3)": {ups: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 500, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(0, 0, 200, 120, 0), wantReplicas: 255, wantReason: ReasonScaleUpLimit},

		// Scale-down with periodSeconds and earlier scale-downs.
		"default scale-down period ignores older events": {downs: uniformEvents([]int32{1, 5, 9}, 120),
			current: 10, desired: 5, minReplicas: 1, maxReplicas: 1000,
			wantReplicas: 5, wantReason: ReasonDesiredWithinRange},
		"large pods policy and events, floored at minReplicas 1": {downs: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 0, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(115, 120, 0, 0, 300), wantReplicas: 1, wantReason: ReasonTooFewReplicas},
		"larger pods policy and events, floored at minReplicas 5": {downs: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 0, minReplicas: 5, maxReplicas: 1000,
			down: rulesOf(130, 120, 0, 0, 300), wantReplicas: 5, wantReason: ReasonTooFewReplicas},
		"100% policy and events, floored at minReplicas": {downs: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 2, minReplicas: 5, maxReplicas: 1000,
			down: rulesOf(0, 0, 100, 120, 300), wantReplicas: 5, wantReason: ReasonTooFewReplicas},
		"pods policy budget used up holds current (100+15-5)": {downs: uniformEvents([]int32{1, 5, 9}, 120),
			current: 100, desired: 2, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(5, 120, 0, 0, 300), wantReplicas: 100, wantReason: ReasonScaleDownLimit},
		"percent policy from the period start ((100+12)/2)": {downs: uniformEvents([]int32{2, 4, 6}, 120),
			current: 100, desired: 0, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(0, 0, 50, 120, 300), wantReplicas: 56, wantReason: ReasonScaleDownLimit},
		"percent budget used up holds current ((100+30)*0.9)": {downs: uniformEvents([]int32{10, 10, 10}, 120),
			current: 100, desired: 0, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(0, 0, 10, 120, 300), wantReplicas: 100, wantReason: ReasonScaleDownLimit},
		"negative percent limit still allows desired": {downs: uniformEvents([]int32{10, 10, 10}, 120),
			current: 10, desired: 5, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(0, 0, 1000, 120, 300), wantReplicas: 5, wantReason: ReasonDesiredWithinRange},
		"events spread over two policy periods, up": {ups: uniformEvents([]int32{8, 12, 9, 11}, 120),
			current: 100, desired: 200, minReplicas: 1, maxReplicas: 1000,
			up: rulesOf(1000, 30, 100, 60, 0), wantReplicas: 200, wantReason: ReasonDesiredWithinRange},
		"events spread over two policy periods, down": {downs: uniformEvents([]int32{8, 12, 9, 11}, 120),
			current: 100, desired: 5, minReplicas: 1, maxReplicas: 1000,
			down: rulesOf(1000, 30, 100, 60, 300), wantReplicas: 5, wantReason: ReasonDesiredWithinRange},

		// Both directions count for both limits (kubernetes PR #109058); the
		// older one-direction formula gives 10 and 7 here.
		"scale-downs in the period restore scale-up budget": {
			ups: []ScaleEvent{eventAt(30, 6)}, downs: []ScaleEvent{eventAt(20, 3)},
			current: 10, desired: 20, minReplicas: 1, maxReplicas: 100,
			up: rulesOf(4, 60, 0, 0, 0), wantReplicas: 11, wantReason: ReasonScaleUpLimit},
		"scale-ups in the period shrink scale-down budget": {
			ups: []ScaleEvent{eventAt(30, 5)}, downs: []ScaleEvent{eventAt(20, 2)},
			current: 10, desired: 1, minReplicas: 1, maxReplicas: 100,
			down: rulesOf(3, 60, 0, 0, 0), wantReplicas: 4, wantReason: ReasonScaleDownLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			behavior := DefaultedBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: tc.up, ScaleDown: tc.down})
			got, reason := limitRate(testNow, tc.current, tc.desired, tc.minReplicas, tc.maxReplicas, behavior, tc.ups, tc.downs)
			if got != tc.wantReplicas || reason != tc.wantReason {
				t.Errorf("limitRate = %d %s, want %d %s", got, reason, tc.wantReplicas, tc.wantReason)
			}
		})
	}
}

// Mirrors TestConvertDesiredReplicasWithRules, with the controller's real
// scale-up factor 2 (its tests raise it to 8).
func TestLimitLegacy(t *testing.T) {
	tests := map[string]struct {
		current, desired, minReplicas, maxReplicas int32
		want                                       int32
		wantReason                                 Reason
	}{
		"within range":                      {5, 7, 3, 8, 7, ReasonDesiredWithinRange},
		"below minReplicas":                 {3, 1, 2, 8, 2, ReasonTooFewReplicas},
		"zero within range":                 {1, 0, 0, 10, 0, ReasonDesiredWithinRange},
		"maxReplicas below 2x current":      {20, 1000, 1, 10, 10, ReasonTooManyReplicas},
		"2x current below maxReplicas":      {3, 1000, 1, 2000, 6, ReasonScaleUpLimit},
		"at least 4 from 1":                 {1, 1000, 1, 2000, 4, ReasonScaleUpLimit},
		"at least 4 from 0":                 {0, 1000, 0, 2000, 4, ReasonScaleUpLimit},
		"min checked first when min > max":  {3, 1, 5, 4, 5, ReasonTooFewReplicas},
		"desired equal to the limit passes": {3, 6, 1, 2000, 6, ReasonDesiredWithinRange},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, reason := limitLegacy(tc.current, tc.desired, tc.minReplicas, tc.maxReplicas)
			if got != tc.want || reason != tc.wantReason {
				t.Errorf("limitLegacy = %d %s, want %d %s", got, reason, tc.want, tc.wantReason)
			}
		})
	}
}
