package explain

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// Scenario tables for Replay, in the manner of the HPA controller's own
// TestNormalizeDesiredReplicasWithBehavior and TestScaleUp* tables: given a
// spec, a trace (the history the controller accumulates) and the replay
// settings, the rescales and the decisions at chosen syncs. Every expected
// value is derived by hand; the arithmetic is in the comments. Times are
// seconds from the start of the trace, one sync every 15 s unless said.

type scenarioRescale struct {
	at       time.Duration
	from, to int32
	reason   scaling.Reason
}

// scenarioSync is one sync's outcome: the metrics' proposal, the count
// after the sync and the ScalingLimited and AbleToScale reasons.
type scenarioSync struct {
	at                    time.Duration
	metric, replicas      int32
	reason, stabilization scaling.Reason
}

type replayScenario struct {
	spec  *autoscalingv2.HorizontalPodAutoscalerSpec
	trace string
	opts  ReplayOptions
	// rescales are all the rescales of the run, in order.
	rescales []scenarioRescale
	// syncs are checked where given.
	syncs []scenarioSync
}

const s = time.Second

func scenarioSpec(minReplicas, maxReplicas int32, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, targets ...scenarioTarget) *autoscalingv2.HorizontalPodAutoscalerSpec {
	spec := &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minReplicas, MaxReplicas: maxReplicas, Behavior: behavior}
	for _, t := range targets {
		spec.Metrics = append(spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: t.name, Target: autoscalingv2.MetricTarget{
				Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &t.percent}}})
	}
	return spec
}

type scenarioTarget struct {
	name    corev1.ResourceName
	percent int32
}

var cpu50, cpu70, memory80 = scenarioTarget{corev1.ResourceCPU, 50}, scenarioTarget{corev1.ResourceCPU, 70}, scenarioTarget{corev1.ResourceMemory, 80}

func scenarioRules(window *int32, sel autoscalingv2.ScalingPolicySelect, policies ...autoscalingv2.HPAScalingPolicy) *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: window, SelectPolicy: &sel, Policies: policies}
}

func seconds32(v int32) *int32 { return &v }

func podsPolicy(value, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: value, PeriodSeconds: period}
}

func percentPolicy(value, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: value, PeriodSeconds: period}
}

// standardBehavior is the design card's: up by 100 % or 2 pods per 30 s
// (Max), no window; down by 50 % per 60 s after a 300 s window.
func standardBehavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(100, 30), podsPolicy(2, 30)),
		ScaleDown: scenarioRules(seconds32(300), autoscalingv2.MaxChangePolicySelect, percentPolicy(50, 60)),
	}
}

var replayScenarios = map[string]replayScenario{
	// behavior: {} is defaulted to up 4 pods or 100 % per 15 s, down 100 %
	// per 15 s after the 300 s flag window. Utilization measured at 2.
	// 0 s, at 2: cpu 90 % → 90/50 = 1.8 → ceil(1.8 × 2) = 4; memory 100 % →
	//   1.25 → ceil(2.5) = 3; the highest, 4, is within max(2+4, 2×2) = 6.
	// 15 s, at 4: the same load reads cpu floor(90×2/4) = 45 % → 0.9, inside
	//   the tolerance band [0.9, 1.1] (inclusive) → 4; memory 50 % → 0.625 →
	//   ceil(2.5) = 3; highest 4 = current: no change.
	// 30 s, at 4: cpu 120 % at 2 → floor(240/4) = 60 % → 1.2 → ceil(4.8) =
	//   5; memory still 3 → 5.
	// 45 s, at 5: cpu floor(240/5) = 48 % → 0.96 → 5: the closed loop settles.
	"closed loop, highest metric, tolerance inclusive": {
		spec:  scenarioSpec(1, 10, &autoscalingv2.HorizontalPodAutoscalerBehavior{}, cpu50, memory80),
		trace: "seconds,cpu,memory\n0,90,100\n30,120,100\n45,120,100\n",
		opts:  ReplayOptions{InitialReplicas: 2, MeasuredAt: 2},
		rescales: []scenarioRescale{
			{0, 2, 4, scaling.ReasonDesiredWithinRange},
			{30 * s, 4, 5, scaling.ReasonDesiredWithinRange},
		},
		syncs: []scenarioSync{
			{15 * s, 4, 4, scaling.ReasonDesiredWithinRange, scaling.ReasonReadyForNewScale},
			{45 * s, 5, 5, scaling.ReasonDesiredWithinRange, scaling.ReasonReadyForNewScale},
		},
	},
	// 0 s, at 2: 200 % → 4 → ceil(8) = 8; limit max(ceil(2 × 2), 2 + 2) = 4.
	// 15 s, at 4: floor(400/4) = 100 % → 2 → 8; the 30 s periods still hold
	//   the +2 of 0 s, so they start at 4 − 2 = 2 and allow 4 again.
	// 30 s: the +2 is exactly 30 s old and no longer counts: start 4,
	//   allow 8 → 8.
	// 45 s, at 8: floor(400/8) = 50 % → 1.0 → 8, on target.
	"closed loop spreads the load over the new pods": {
		spec:  scenarioSpec(2, 10, standardBehavior(), cpu50),
		trace: "seconds,cpu\n0,200\n45,200\n",
		rescales: []scenarioRescale{
			{0, 2, 4, scaling.ReasonScaleUpLimit},
			{30 * s, 4, 8, scaling.ReasonDesiredWithinRange},
		},
		syncs: []scenarioSync{
			{15 * s, 8, 4, scaling.ReasonScaleUpLimit, scaling.ReasonReadyForNewScale},
			{45 * s, 8, 8, scaling.ReasonDesiredWithinRange, scaling.ReasonReadyForNewScale},
		},
	},
	// Open loop: 200 % whatever the count. 15 s, at 4: 4 × 4 = 16, held at
	// 4 by the period; 30 s: 16, allowed 8; 45 s: 32, period start 8 − 4 =
	// 4 allows 8: held.
	"open loop replays utilization as written": {
		spec:  scenarioSpec(2, 40, standardBehavior(), cpu50),
		trace: "seconds,cpu\n0,200\n45,200\n",
		opts:  ReplayOptions{OpenLoop: true},
		rescales: []scenarioRescale{
			{0, 2, 4, scaling.ReasonScaleUpLimit},
			{30 * s, 4, 8, scaling.ReasonScaleUpLimit},
		},
		syncs: []scenarioSync{
			{15 * s, 16, 4, scaling.ReasonScaleUpLimit, scaling.ReasonReadyForNewScale},
			{45 * s, 32, 8, scaling.ReasonScaleUpLimit, scaling.ReasonReadyForNewScale},
		},
	},
	// From 8, demand 3. The controller remembers 8 (its first
	// recommendation at 0 s and the proposal at 0 s); the 300 s window is
	// open at its old end, so they stop counting at 300 s exactly.
	// 300 s: 50 % of 8 → trunc(4) = 4.
	// 315…345 s: the −4 at 300 s is within 60 s: start 4 + 4 = 8 → 4: held.
	// 360 s: it is exactly 60 s old: start 4 → trunc(2) = 2, below which
	//   minReplicas (2) does not bind; 3 is within range.
	"scale-down waits for the window, then 50 % per minute": {
		spec:  scenarioSpec(2, 10, standardBehavior()),
		trace: "seconds,replicas\n0,8\n15,3\n360,3\n",
		opts:  ReplayOptions{InitialReplicas: 8},
		rescales: []scenarioRescale{
			{300 * s, 8, 4, scaling.ReasonScaleDownLimit},
			{360 * s, 4, 3, scaling.ReasonDesiredWithinRange},
		},
		syncs: []scenarioSync{
			{285 * s, 3, 8, scaling.ReasonDesiredWithinRange, scaling.ReasonScaleDownStabilized},
			{345 * s, 3, 4, scaling.ReasonScaleDownLimit, scaling.ReasonReadyForNewScale},
		},
	},
	// 0 s: 100 % of 2 and 2 + 2 both allow 4. 15 s: start 4 − 2 = 2 → 4:
	// held. 30 s: start 4 → 8 (Percent) beats 6 (Pods). 60 s: 16 is over
	// maxReplicas 10, which binds. 75 s: at max, the proposal 20 is clamped.
	"scale-up periods, selectPolicy Max, then maxReplicas": {
		spec:  scenarioSpec(2, 10, standardBehavior()),
		trace: "seconds,replicas\n0,20\n75,20\n",
		rescales: []scenarioRescale{
			{0, 2, 4, scaling.ReasonScaleUpLimit},
			{30 * s, 4, 8, scaling.ReasonScaleUpLimit},
			{60 * s, 8, 10, scaling.ReasonTooManyReplicas},
		},
		syncs: []scenarioSync{
			{15 * s, 20, 4, scaling.ReasonScaleUpLimit, scaling.ReasonReadyForNewScale},
			{75 * s, 20, 10, scaling.ReasonTooManyReplicas, scaling.ReasonReadyForNewScale},
		},
	},
	// Pods 4/60 s against Percent 50 %/60 s, selectPolicy Min:
	// 0 s from 4: min(8, ceil(6)) = 6. 60 s from 6: min(10, ceil(9)) = 9.
	// 120 s from 9: min(13, ceil(13.5)) = 13.
	"selectPolicy Min takes the smaller allowance": {
		spec: scenarioSpec(2, 20, &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: scenarioRules(seconds32(0), autoscalingv2.MinChangePolicySelect, podsPolicy(4, 60), percentPolicy(50, 60))}),
		trace: "seconds,replicas\n0,20\n120,20\n",
		opts:  ReplayOptions{InitialReplicas: 4},
		rescales: []scenarioRescale{
			{0, 4, 6, scaling.ReasonScaleUpLimit},
			{60 * s, 6, 9, scaling.ReasonScaleUpLimit},
			{120 * s, 9, 13, scaling.ReasonScaleUpLimit},
		},
	},
	// 25 × (1 + 12/100) is 28.000000000000004 in float64: ceil gives 29.
	"Percent scale-up rounds up in float64": {
		spec: scenarioSpec(1, 100, &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(12, 60))}),
		trace:    "seconds,replicas\n0,100\n",
		opts:     ReplayOptions{InitialReplicas: 25},
		rescales: []scenarioRescale{{0, 25, 29, scaling.ReasonScaleUpLimit}},
	},
	// 0 s: 9 wanted, 100 % of 4 allows 8, maxReplicas 6 binds. 15 s: 1
	// wanted, no window, 100 % down allows 0, minReplicas 3 binds.
	"bounds clamp the proposal": {
		spec: scenarioSpec(3, 6, &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp:   scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(100, 15)),
			ScaleDown: scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(100, 15))}),
		trace:    "seconds,replicas\n0,9\n15,1\n",
		opts:     ReplayOptions{InitialReplicas: 4},
		rescales: []scenarioRescale{{0, 4, 6, scaling.ReasonTooManyReplicas}, {15 * s, 6, 3, scaling.ReasonTooFewReplicas}},
	},
	// A count outside the bounds jumps to the bound before any metric is
	// read, with neither stabilization nor rate limits.
	"below minReplicas jumps to it": {
		spec:     scenarioSpec(3, 6, standardBehavior()),
		trace:    "seconds,replicas\n0,1\n",
		opts:     ReplayOptions{InitialReplicas: 1},
		rescales: []scenarioRescale{{0, 1, 3, scaling.ReasonBelowMinReplicas}},
	},
	"above maxReplicas jumps to it": {
		spec:     scenarioSpec(3, 6, standardBehavior()),
		trace:    "seconds,replicas\n0,20\n",
		opts:     ReplayOptions{InitialReplicas: 9},
		rescales: []scenarioRescale{{0, 9, 6, scaling.ReasonAboveMaxReplicas}},
	},
	// Samples at 0 s and 40 s, syncs every 15 s: 30 s still sees 2 (held,
	// not 6.5 interpolated); 45 s sees 8, and max(2 + 4, 2 × 2) allows 6.
	"samples are held until the next": {
		spec:     scenarioSpec(2, 10, &autoscalingv2.HorizontalPodAutoscalerBehavior{}),
		trace:    "seconds,replicas\n0,2\n40,8\n50,8\n",
		rescales: []scenarioRescale{{45 * s, 2, 6, scaling.ReasonScaleUpLimit}},
		syncs:    []scenarioSync{{30 * s, 2, 2, scaling.ReasonDesiredWithinRange, scaling.ReasonReadyForNewScale}},
	},
	// Scale-up window 60 s: the count rises only to the lowest proposal of
	// the last 60 s, the starting 2 included until it is 60 s old.
	// From 2. 0–45 s: floor 2 → held (ScaleUpStabilized). 60 s: the 0 s entries
	// leave; lowest of 4 (15 s), 10, 10, 10 → 4. 75 s: lowest 10 → 10, and
	// Pods 10/15 s from 4 allows 14.
	"scale-up window takes the lowest recent proposal": {
		spec: scenarioSpec(1, 20, &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: scenarioRules(seconds32(60), autoscalingv2.MaxChangePolicySelect, podsPolicy(10, 15))}),
		trace: "seconds,replicas\n0,8\n15,4\n30,10\n90,10\n",
		opts:  ReplayOptions{InitialReplicas: 2},
		rescales: []scenarioRescale{
			{60 * s, 2, 4, scaling.ReasonDesiredWithinRange},
			{75 * s, 4, 10, scaling.ReasonDesiredWithinRange},
		},
		syncs: []scenarioSync{{45 * s, 10, 2, scaling.ReasonDesiredWithinRange, scaling.ReasonScaleUpStabilized}},
	},
	// No behavior: the legacy path. Scale-up is capped at max(2 × current,
	// 4) per sync and scale-down stabilized to the highest proposal of the
	// last 300 s, edge included — so after demand falls to 1 at 30 s the
	// remembered 20s keep it climbing: 16, then 20 (the cap 32 is above
	// maxReplicas, but 20 itself is within range), until the 20 of 15 s is
	// more than 300 s old at 330 s; no rate limit then.
	"legacy path: cap, and a window that keeps climbing": {
		spec:  scenarioSpec(1, 20, nil),
		trace: "seconds,replicas\n0,20\n30,1\n330,1\n",
		rescales: []scenarioRescale{
			{0, 1, 4, scaling.ReasonScaleUpLimit},
			{15 * s, 4, 8, scaling.ReasonScaleUpLimit},
			{30 * s, 8, 16, scaling.ReasonScaleUpLimit},
			{45 * s, 16, 20, scaling.ReasonDesiredWithinRange},
			{330 * s, 20, 1, scaling.ReasonDesiredWithinRange},
		},
		syncs: []scenarioSync{{315 * s, 1, 20, scaling.ReasonDesiredWithinRange, scaling.ReasonScaleDownStabilized}},
	},
	// kubernetes #108354: an up, a down and an up within one period. The
	// period start undoes both: 6 − 4 + 2 = 4, and Percent 300 % allows 16.
	"period start undoes both directions": {
		spec: scenarioSpec(1, 20, &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp:   scenarioRules(seconds32(0), autoscalingv2.MinChangePolicySelect, percentPolicy(300, 300)),
			ScaleDown: scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, podsPolicy(2, 300))}),
		trace: "seconds,replicas\n0,8\n15,6\n30,20\n45,20\n",
		opts:  ReplayOptions{InitialReplicas: 4},
		rescales: []scenarioRescale{
			{0, 4, 8, scaling.ReasonDesiredWithinRange},
			{15 * s, 8, 6, scaling.ReasonDesiredWithinRange},
			{30 * s, 6, 16, scaling.ReasonScaleUpLimit},
		},
		syncs: []scenarioSync{{45 * s, 20, 16, scaling.ReasonScaleUpLimit, scaling.ReasonReadyForNewScale}},
	},
	// A 30 s sync period: the 100 %/30 s policy's event is exactly one
	// period old at every sync, so each sync may double: 2, 4, 8, 10.
	"a 30 s sync period doubles at every sync": {
		spec:  scenarioSpec(2, 10, standardBehavior()),
		trace: "seconds,replicas\n0,10\n90,10\n",
		opts:  ReplayOptions{Scaling: scaling.Options{SyncPeriod: 30 * s}},
		rescales: []scenarioRescale{
			{0, 2, 4, scaling.ReasonScaleUpLimit},
			{30 * s, 4, 8, scaling.ReasonScaleUpLimit},
			{60 * s, 8, 10, scaling.ReasonDesiredWithinRange},
		},
	},
}

// autoscalingv2Behavior0 has no windows and allows any change at once.
var autoscalingv2Behavior0 = autoscalingv2.HorizontalPodAutoscalerBehavior{
	ScaleUp:   scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(1000, 15)),
	ScaleDown: scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, percentPolicy(100, 15)),
}

// autoscalingv2Behavior1 scales up by 1 pod or 10 % per minute, whichever
// is more.
var autoscalingv2Behavior1 = autoscalingv2.HorizontalPodAutoscalerBehavior{
	ScaleUp: scenarioRules(seconds32(0), autoscalingv2.MaxChangePolicySelect, podsPolicy(1, 60), percentPolicy(10, 60)),
}
