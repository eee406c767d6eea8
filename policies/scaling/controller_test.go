package scaling

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// utilizationRatio is how the controller turns resource metrics into a usage
// ratio: integer percent of the summed requests, then over the target.
func utilizationRatio(usageMilli []int64, requestMilli, target int64) float64 {
	var sum int64
	for _, u := range usageMilli {
		sum += u
	}
	utilization := sum * 100 / (requestMilli * int64(len(usageMilli)))
	return float64(utilization) / float64(target)
}

// Mirrors the single-sync cases of the controller's horizontal_test.go
// (TestScaleUp, TestScaleDown, TestTolerance, TestMinReplicas,
// TestZeroReplicas, TestTooFewReplicas, TestTooManyReplicas, TestUpscaleCap…)
// through the legacy path, with the real scale-up factor 2.
func TestControllerSingleSync(t *testing.T) {
	tests := map[string]struct {
		minReplicas *int32
		maxReplicas int32
		behavior    *autoscalingv2.HorizontalPodAutoscalerBehavior
		// history seeds the recommendations like the controller tests' field;
		// nil leaves the controller fresh.
		history     []recommendation
		current     int32
		ratio       float64
		want        int32
		wantReason  Reason
		wantRescale bool
	}{
		"scale up": {minReplicas: ptrTo[int32](2), maxReplicas: 6, current: 3,
			ratio: utilizationRatio([]int64{300, 500, 700}, 1000, 30), want: 5, wantReason: ReasonDesiredWithinRange, wantRescale: true},
		"scale down": {minReplicas: ptrTo[int32](2), maxReplicas: 6, current: 5,
			history: []recommendation{recAt(10, 10*time.Minute)},
			ratio:   utilizationRatio([]int64{100, 300, 500, 250, 250}, 1000, 50), want: 3, wantReason: ReasonDesiredWithinRange, wantRescale: true},
		"tolerance": {minReplicas: ptrTo[int32](1), maxReplicas: 5, current: 3,
			ratio: utilizationRatio([]int64{1010, 1030, 1020}, 1000, 100), want: 3, wantReason: ReasonDesiredWithinRange},
		"min replicas": {minReplicas: ptrTo[int32](2), maxReplicas: 5, current: 3, history: []recommendation{},
			ratio: utilizationRatio([]int64{10, 95, 10}, 1000, 90), want: 2, wantReason: ReasonTooFewReplicas, wantRescale: true},
		"zero replicas disable scaling": {minReplicas: ptrTo[int32](3), maxReplicas: 5, current: 0,
			ratio: 10, want: 0, wantReason: ReasonScalingDisabled},
		"too few replicas jump to min": {minReplicas: ptrTo[int32](3), maxReplicas: 5, current: 2,
			ratio: 1, want: 3, wantReason: ReasonBelowMinReplicas, wantRescale: true},
		"too many replicas jump to max": {minReplicas: ptrTo[int32](3), maxReplicas: 5, current: 10,
			ratio: 1, want: 5, wantReason: ReasonAboveMaxReplicas, wantRescale: true},
		"upscale cap": {minReplicas: ptrTo[int32](1), maxReplicas: 100, current: 3,
			ratio: 10, want: 6, wantReason: ReasonScaleUpLimit, wantRescale: true},
		"upscale cap above max replicas": {minReplicas: ptrTo[int32](1), maxReplicas: 20, current: 12,
			ratio: 10, want: 20, wantReason: ReasonTooManyReplicas, wantRescale: true},
		"nil minReplicas means 1": {maxReplicas: 5, current: 3, history: []recommendation{},
			ratio: 0, want: 1, wantReason: ReasonTooFewReplicas, wantRescale: true},
		"scale from zero when minReplicas is 0": {minReplicas: ptrTo[int32](0), maxReplicas: 5, current: 0,
			ratio: 2.5, want: 3, wantReason: ReasonDesiredWithinRange, wantRescale: true},
		"default behavior: 4 pods or 100% per 15 s": {minReplicas: ptrTo[int32](1), maxReplicas: 100, current: 3,
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, ratio: 10, want: 7, wantReason: ReasonScaleUpLimit, wantRescale: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := NewController(&autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: tc.minReplicas, MaxReplicas: tc.maxReplicas, Behavior: tc.behavior}, Options{})
			if tc.history != nil {
				c.recommendations = tc.history
			}
			d := c.StepUsageRatio(testNow, tc.current, tc.ratio)
			if d.Replicas != tc.want || d.Reason != tc.wantReason || d.Rescaled != tc.wantRescale {
				t.Errorf("got %d %s rescaled=%v, want %d %s rescaled=%v (%+v)",
					d.Replicas, d.Reason, d.Rescaled, tc.want, tc.wantReason, tc.wantRescale, d)
			}
		})
	}
}

type syncCase struct {
	at      time.Duration
	current int32
	metric  int32
	want    int32
	reason  Reason
}

func runSyncs(t *testing.T, c *Controller, syncs []syncCase) {
	t.Helper()
	for _, s := range syncs {
		d := c.Step(testNow.Add(s.at), s.current, s.metric)
		if d.Replicas != s.want || d.Reason != s.reason {
			t.Errorf("at %s from %d wanting %d: got %d %s, want %d %s", s.at, s.current, s.metric, d.Replicas, d.Reason, s.want, s.reason)
		}
	}
}

// The scenario of kubernetes issue #108354: a scale-up, a scale-down and a
// scale-up again within one policy period. Only the current formula, which
// undoes both directions, allows 16 at the third sync (the old one gave 8).
func TestControllerPeriodStartCountsBothDirections(t *testing.T) {
	spec := specWith(ptrTo[int32](1), 20,
		withSelect(rulesOf(0, 0, 300, 300, 0), autoscalingv2.MinChangePolicySelect),
		rulesOf(2, 300, 0, 0, 0))
	runSyncs(t, NewController(spec, Options{}), []syncCase{
		{0, 4, 8, 8, ReasonDesiredWithinRange},
		{15 * time.Second, 8, 6, 6, ReasonDesiredWithinRange}, // start 8-4 = 4, minus 2 pods
		{30 * time.Second, 6, 20, 16, ReasonScaleUpLimit},     // start 6-4+2 = 4, ×4
	})
}

// A controller that just started remembers the current count as its first
// recommendation, so it will not scale down for one stabilization window.
func TestControllerFreshHistoryHoldsScaleDown(t *testing.T) {
	t.Run("legacy window includes its old edge", func(t *testing.T) {
		spec := &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptrTo[int32](1), MaxReplicas: 10}
		runSyncs(t, NewController(spec, Options{}), []syncCase{
			{0, 10, 5, 10, ReasonDesiredWithinRange},
			{300 * time.Second, 10, 5, 10, ReasonDesiredWithinRange},
			{315 * time.Second, 10, 5, 5, ReasonDesiredWithinRange},
		})
	})
	t.Run("behavior window excludes its old edge", func(t *testing.T) {
		spec := specWith(ptrTo[int32](1), 10, nil, nil)
		runSyncs(t, NewController(spec, Options{}), []syncCase{
			{0, 10, 5, 10, ReasonDesiredWithinRange},
			{285 * time.Second, 10, 5, 10, ReasonDesiredWithinRange},
			{300 * time.Second, 10, 5, 5, ReasonDesiredWithinRange},
		})
	})
	t.Run("the flag sets a nil scale-down window, in whole seconds", func(t *testing.T) {
		spec := specWith(ptrTo[int32](1), 10, nil, nil)
		runSyncs(t, NewController(spec, Options{DownscaleStabilizationWindow: ptrTo(60*time.Second + 900*time.Millisecond)}), []syncCase{
			{0, 10, 5, 10, ReasonDesiredWithinRange},
			{60 * time.Second, 10, 5, 5, ReasonDesiredWithinRange},
		})
	})
}

func TestControllerDecisionConditions(t *testing.T) {
	spec := specWith(ptrTo[int32](1), 50, rulesOf(2, 60, 0, 0, 120), rulesOf(0, 0, 100, 15, 0))
	c := NewController(spec, Options{})
	c.recommendations = []recommendation{{replicas: 4, at: testNow.Add(-time.Minute)}}
	d := c.Step(testNow, 3, 10)
	want := Decision{Replicas: 4, Rescaled: true, MetricReplicas: 10, StabilizedReplicas: 4,
		Stabilization: ReasonScaleUpStabilized, Reason: ReasonDesiredWithinRange}
	if d != want {
		t.Errorf("Decision = %+v, want %+v", d, want)
	}
	d = c.Step(testNow.Add(90*time.Second), 4, 40)
	want = Decision{Replicas: 6, Rescaled: true, MetricReplicas: 40, StabilizedReplicas: 10,
		Stabilization: ReasonScaleUpStabilized, Reason: ReasonScaleUpLimit, Limited: true}
	if d != want {
		t.Errorf("Decision = %+v, want %+v", d, want)
	}
}

func TestControllerStoresEventsOnlyWithBehavior(t *testing.T) {
	legacy := NewController(&autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 10}, Options{})
	legacy.Step(testNow, 2, 8)
	if len(legacy.scaleUps)+len(legacy.scaleDowns) != 0 {
		t.Errorf("legacy path stored events: %+v %+v", legacy.scaleUps, legacy.scaleDowns)
	}
	withBehavior := NewController(specWith(nil, 10, nil, nil), Options{})
	withBehavior.Step(testNow, 2, 8)
	withBehavior.Step(testNow.Add(time.Second), 20, 8) // above max: jumps to 10 and is recorded
	if len(withBehavior.scaleUps) != 1 || withBehavior.scaleUps[0].Change != 4 ||
		len(withBehavior.scaleDowns) != 1 || withBehavior.scaleDowns[0].Change != 10 {
		t.Errorf("events = %+v %+v", withBehavior.scaleUps, withBehavior.scaleDowns)
	}
}

func TestNewControllerDoesNotAliasSpec(t *testing.T) {
	spec := specWith(nil, 10, rulesOf(1, 60, 0, 0, 0), nil)
	c := NewController(spec, Options{})
	spec.Behavior.ScaleUp.Policies[0].Value = 100
	if got := c.Step(testNow, 2, 8).Replicas; got != 3 {
		t.Errorf("after mutating the spec the controller scaled to %d, want 3", got)
	}
}
