package scaling

import (
	"math"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// The float64 cases are the reason this package exists: integer arithmetic
// gives 28, 111→110 and 1 where the controller gives 29, 111 and 0.
func TestPercentScaleUpLimit(t *testing.T) {
	tests := map[string]struct {
		start, percent, want int32
	}{
		"25 at 12% is ceil(28.000000000000004)":  {25, 12, 29},
		"100 at 10% is ceil(110.00000000000001)": {100, 10, 111},
		"10 at 100% doubles":                     {10, 100, 20},
		"3 at 50% rounds 4.5 up":                 {3, 50, 5},
		"1 at 1% still adds a pod":               {1, 1, 2},
		"0 at any percent stays 0":               {0, 900, 0},
		"overflow saturates":                     {math.MaxInt32 / 2, 300, math.MaxInt32},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PercentScaleUpLimit(tc.start, tc.percent); got != tc.want {
				t.Errorf("PercentScaleUpLimit(%d, %d) = %d, want %d", tc.start, tc.percent, got, tc.want)
			}
		})
	}
}

func TestPercentScaleDownLimit(t *testing.T) {
	tests := map[string]struct {
		start, percent, want int32
	}{
		"10 at 90% is trunc(0.9999999999999998)": {10, 90, 0},
		"5 at 80% is trunc(0.9999999999999998)":  {5, 80, 0},
		"7 at 30% is trunc(4.8999999999999995)":  {7, 30, 4},
		"10 at 50% halves":                       {10, 50, 5},
		"3 at 50% truncates 1.5":                 {3, 50, 1},
		"100 at 1% removes a pod":                {100, 1, 99},
		"10 at 100% removes all":                 {10, 100, 0},
		"10 at 150% goes negative":               {10, 150, -5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PercentScaleDownLimit(tc.start, tc.percent); got != tc.want {
				t.Errorf("PercentScaleDownLimit(%d, %d) = %d, want %d", tc.start, tc.percent, got, tc.want)
			}
		})
	}
}

func TestReplicasChangeInPeriod(t *testing.T) {
	events := []ScaleEvent{eventAt(30, 3), eventAt(45, 2), eventAt(60, 7), eventAt(70, 1)}
	tests := map[string]struct {
		period int32
		want   int32
	}{
		"an event exactly period old no longer counts": {60, 5},
		"one second more includes it":                  {61, 12},
		"zero period counts nothing":                   {0, 0},
		"negative period counts nothing":               {-10, 0},
		"long period counts all":                       {1800, 13},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ReplicasChangeInPeriod(testNow, tc.period, events); got != tc.want {
				t.Errorf("ReplicasChangeInPeriod(%d) = %d, want %d", tc.period, got, tc.want)
			}
		})
	}
}

// Mirrors TestCalculateScaleUpLimitWithScalingRules in the controller's
// horizontal_test.go (Min of Pods 2 and Percent 50 from 1 is 2), extended with
// the other selectPolicy values and with events of both directions.
func TestScaleUpLimit(t *testing.T) {
	tests := map[string]struct {
		current    int32
		ups, downs []ScaleEvent
		rules      *autoscalingv2.HPAScalingRules
		want       int32
	}{
		"Min picks the smaller proposal": {current: 1, rules: minChange(pods(2, 60), percent(50, 60)), want: 2},
		"Max picks the larger proposal":  {current: 1, rules: rulesOf(2, 60, 50, 60, 0), want: 3},
		"Disabled returns current": {current: 7,
			rules: withSelect(rulesOf(2, 60, 50, 60, 0), autoscalingv2.DisabledPolicySelect), want: 7},
		"nil rules are the defaults: max(10+4, 20)": {current: 10, rules: nil, want: 20},
		"nil selectPolicy is Max": {current: 10,
			rules: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pods(1, 60), pods(5, 60)}}, want: 15},
		"empty policies with Max allow nothing": {current: 10,
			rules: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}, want: math.MinInt32},
		"empty policies with Min allow anything": {current: 10, rules: &autoscalingv2.HPAScalingRules{
			SelectPolicy: ptrTo(autoscalingv2.MinChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{}}, want: math.MaxInt32},
		"recent scale-ups shrink the budget": {current: 10, ups: []ScaleEvent{eventAt(30, 6)},
			rules: rulesOf(4, 60, 0, 0, 0), want: 8},
		"recent scale-downs give it back": {current: 10, ups: []ScaleEvent{eventAt(30, 6)}, downs: []ScaleEvent{eventAt(20, 3)},
			rules: rulesOf(4, 60, 0, 0, 0), want: 11},
		"each policy looks at its own period": {current: 10, ups: []ScaleEvent{eventAt(30, 6)},
			rules: rulesOf(4, 20, 50, 60, 0), want: 14},
		"percent from zero stays zero": {current: 0, rules: rulesOf(0, 0, 100, 15, 0), want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ScaleUpLimit(testNow, tc.current, tc.ups, tc.downs, tc.rules); got != tc.want {
				t.Errorf("ScaleUpLimit = %d, want %d", got, tc.want)
			}
		})
	}
}

// Mirrors TestCalculateScaleDownLimitWithBehaviors (Min of Pods 2 and Percent
// 50 from 5 is 3), extended like TestScaleUpLimit.
func TestScaleDownLimit(t *testing.T) {
	tests := map[string]struct {
		current    int32
		ups, downs []ScaleEvent
		rules      *autoscalingv2.HPAScalingRules
		want       int32
	}{
		"Min keeps the higher proposal": {current: 5, rules: minChange(pods(2, 60), percent(50, 60)), want: 3},
		"Max keeps the lower proposal":  {current: 5, rules: rulesOf(2, 60, 50, 60, 0), want: 2},
		"Disabled returns current": {current: 5,
			rules: withSelect(rulesOf(2, 60, 50, 60, 0), autoscalingv2.DisabledPolicySelect), want: 5},
		"nil rules are the defaults: 100% in 15 s": {current: 10, rules: nil, want: 0},
		"10 at 90% is 0 in float64":                {current: 10, rules: rulesOf(0, 0, 90, 60, 0), want: 0},
		"recent scale-downs shrink the budget": {current: 10, downs: []ScaleEvent{eventAt(30, 4)},
			rules: rulesOf(3, 60, 0, 0, 0), want: 11},
		"recent scale-ups count as well": {current: 10, ups: []ScaleEvent{eventAt(30, 5)}, downs: []ScaleEvent{eventAt(20, 2)},
			rules: rulesOf(3, 60, 0, 0, 0), want: 4},
		"empty policies with Max allow nothing": {current: 10,
			rules: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}, want: math.MaxInt32},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ScaleDownLimit(testNow, tc.current, tc.ups, tc.downs, tc.rules); got != tc.want {
				t.Errorf("ScaleDownLimit = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScaleUpLimitUnknownPolicyTypeRepeatsPreviousProposal(t *testing.T) {
	// The controller declares its proposal outside the policy loop; a policy
	// of unknown type re-submits the previous one (or 0 when first).
	rules := &autoscalingv2.HPAScalingRules{
		SelectPolicy: ptrTo(autoscalingv2.MinChangePolicySelect),
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: "Replicas", Value: 9, PeriodSeconds: 60}, pods(4, 60)},
	}
	if got := ScaleUpLimit(testNow, 10, nil, nil, rules); got != 0 {
		t.Errorf("ScaleUpLimit = %d, want 0", got)
	}
}

// Mirrors TestStoreScaleEvents: outdated slots are reused, the last one first.
func TestStoreScaleEvent(t *testing.T) {
	tests := map[string]struct {
		prev    []ScaleEvent
		longest int32
		want    []ScaleEvent
	}{
		"empty history appends": {longest: 60,
			want: []ScaleEvent{{At: testNow, Change: 5}}},
		"an outdated entry is replaced": {prev: []ScaleEvent{eventAt(61, 7)}, longest: 60,
			want: []ScaleEvent{{At: testNow, Change: 5}}},
		"a live entry is kept": {prev: []ScaleEvent{eventAt(58, 7)}, longest: 60,
			want: []ScaleEvent{eventAt(58, 7), {At: testNow, Change: 5}}},
		"one of two entries is replaced": {prev: []ScaleEvent{eventAt(61, 7), eventAt(59, 6)}, longest: 60,
			want: []ScaleEvent{{At: testNow, Change: 5}, eventAt(59, 6)}},
		"the last outdated slot is reused, the other stays marked": {
			prev:    []ScaleEvent{eventAt(29, 8), eventAt(59, 6), eventAt(61, 7), eventAt(61, 9)},
			longest: 60,
			want: []ScaleEvent{eventAt(29, 8), eventAt(59, 6),
				{At: eventAt(61, 7).At, Change: 7, outdated: true}, {At: testNow, Change: 5}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := storeScaleEvent(append([]ScaleEvent(nil), tc.prev...), testNow, tc.longest, 5)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if !got[i].At.Equal(tc.want[i].At) || got[i].Change != tc.want[i].Change || got[i].outdated != tc.want[i].outdated {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
