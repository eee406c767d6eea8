package scaling

import (
	"reflect"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

func points(ps ...PathPoint) []PathPoint { return ps }

func pt(after time.Duration, replicas int32, reason Reason) PathPoint {
	return PathPoint{After: after, Replicas: replicas, Reason: reason}
}

const sec = time.Second

func TestFastestPaths(t *testing.T) {
	percentOnlyUp := specWith(ptrTo[int32](0), 10, rulesOf(0, 0, 100, 15, 0), nil)
	tests := map[string]struct {
		spec         *autoscalingv2.HorizontalPodAutoscalerSpec
		opts         Options
		dir          Direction
		wantPoints   []PathPoint
		wantReached  bool
		wantDuration time.Duration
		wantCause    Cause
	}{
		"design card up: 4, 8 per 30 s, then max": {spec: designCardSpec(), dir: ScaleUp,
			wantPoints:  points(pt(0, 2, ""), pt(0, 4, ReasonScaleUpLimit), pt(30*sec, 8, ReasonScaleUpLimit), pt(60*sec, 10, ReasonTooManyReplicas)),
			wantReached: true, wantDuration: 60 * sec},
		"design card down: window minus one sync, then 50% per minute": {spec: designCardSpec(), dir: ScaleDown,
			wantPoints:  points(pt(0, 10, ""), pt(285*sec, 5, ReasonScaleDownLimit), pt(345*sec, 2, ReasonTooFewReplicas)),
			wantReached: true, wantDuration: 345 * sec},
		"no behavior up: doubling per sync": {spec: &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptrTo[int32](2), MaxReplicas: 10}, dir: ScaleUp,
			wantPoints:  points(pt(0, 2, ""), pt(0, 4, ReasonScaleUpLimit), pt(15*sec, 8, ReasonScaleUpLimit), pt(30*sec, 10, ReasonTooManyReplicas)),
			wantReached: true, wantDuration: 30 * sec},
		"no behavior down: legacy window keeps its edge, one more sync": {spec: &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptrTo[int32](2), MaxReplicas: 10}, dir: ScaleDown,
			wantPoints:  points(pt(0, 10, ""), pt(300*sec, 2, ReasonTooFewReplicas)),
			wantReached: true, wantDuration: 300 * sec},
		"default behavior up from 1": {spec: specWith(ptrTo[int32](1), 100, nil, nil), dir: ScaleUp,
			wantPoints: points(pt(0, 1, ""), pt(0, 5, ReasonScaleUpLimit), pt(15*sec, 10, ReasonScaleUpLimit), pt(30*sec, 20, ReasonScaleUpLimit),
				pt(45*sec, 40, ReasonScaleUpLimit), pt(60*sec, 80, ReasonScaleUpLimit), pt(75*sec, 100, ReasonTooManyReplicas)),
			wantReached: true, wantDuration: 75 * sec},
		"default behavior down: flag window, then all at once": {spec: specWith(ptrTo[int32](1), 100, nil, nil), dir: ScaleDown,
			wantPoints:  points(pt(0, 100, ""), pt(285*sec, 1, ReasonTooFewReplicas)),
			wantReached: true, wantDuration: 285 * sec},
		"shorter downscale flag": {spec: specWith(ptrTo[int32](1), 100, nil, nil), dir: ScaleDown,
			opts:        Options{DownscaleStabilizationWindow: ptrTo(time.Minute)},
			wantPoints:  points(pt(0, 100, ""), pt(45*sec, 1, ReasonTooFewReplicas)),
			wantReached: true, wantDuration: 45 * sec},
		"scale-up window delays the first step": {spec: specWith(ptrTo[int32](2), 10, rulesOf(4, 15, 0, 0, 60), nil), dir: ScaleUp,
			wantPoints:  points(pt(0, 2, ""), pt(45*sec, 6, ReasonScaleUpLimit), pt(60*sec, 10, ReasonTooManyReplicas)),
			wantReached: true, wantDuration: 60 * sec},
		"10 at 90% reaches 0 in one step in float64": {spec: specWith(ptrTo[int32](0), 10, nil, rulesOf(0, 0, 90, 60, 0)), dir: ScaleDown,
			wantPoints:  points(pt(0, 10, ""), pt(0, 0, ReasonDesiredWithinRange)),
			wantReached: true, wantDuration: 0},
		"5 at 80% reaches 0 in one step in float64": {spec: specWith(ptrTo[int32](0), 5, nil, rulesOf(0, 0, 80, 60, 0)), dir: ScaleDown,
			wantPoints:  points(pt(0, 5, ""), pt(0, 0, ReasonDesiredWithinRange)),
			wantReached: true, wantDuration: 0},
		"scale to zero and back needs a Pods policy": {spec: percentOnlyUp, dir: ScaleUp,
			wantPoints: points(pt(0, 0, "")), wantCause: CausePercentFromZero},
		"Disabled scale-up never moves": {spec: specWith(ptrTo[int32](2), 10,
			withSelect(rulesOf(4, 15, 0, 0, 0), autoscalingv2.DisabledPolicySelect), nil), dir: ScaleUp,
			wantPoints: points(pt(0, 2, "")), wantCause: CauseDisabled},
		"scale-down tolerance 1 never moves": {spec: specWith(ptrTo[int32](2), 10, nil,
			&autoscalingv2.HPAScalingRules{Tolerance: quantity("1")}), dir: ScaleDown,
			wantPoints: points(pt(0, 10, "")), wantCause: CauseTolerance},
		"slow pods policy hits the horizon": {spec: specWith(ptrTo[int32](1), 1000, rulesOf(1, 600, 0, 0, 0), nil), dir: ScaleUp,
			opts: Options{Horizon: time.Hour},
			wantPoints: points(pt(0, 1, ""), pt(0, 2, ReasonScaleUpLimit), pt(600*sec, 3, ReasonScaleUpLimit), pt(1200*sec, 4, ReasonScaleUpLimit),
				pt(1800*sec, 5, ReasonScaleUpLimit), pt(2400*sec, 6, ReasonScaleUpLimit), pt(3000*sec, 7, ReasonScaleUpLimit), pt(3600*sec, 8, ReasonScaleUpLimit)),
			wantCause: CauseTooSlow},
		"sync period shapes the path": {spec: specWith(ptrTo[int32](1), 100, nil, nil), dir: ScaleUp, opts: Options{SyncPeriod: 30 * sec},
			wantPoints: points(pt(0, 1, ""), pt(0, 5, ReasonScaleUpLimit), pt(30*sec, 10, ReasonScaleUpLimit), pt(60*sec, 20, ReasonScaleUpLimit),
				pt(90*sec, 40, ReasonScaleUpLimit), pt(120*sec, 80, ReasonScaleUpLimit), pt(150*sec, 100, ReasonTooManyReplicas)),
			wantReached: true, wantDuration: 150 * sec},
		"equal bounds are reached at once": {spec: specWith(ptrTo[int32](3), 3, nil, nil), dir: ScaleUp,
			wantPoints: points(pt(0, 3, "")), wantReached: true},
		"max below min is invalid": {spec: specWith(ptrTo[int32](5), 3, nil, nil), dir: ScaleDown,
			wantPoints: points(pt(0, 3, "")), wantCause: CauseInvalidBounds},
		"nil spec is invalid, not a panic": {spec: nil, dir: ScaleUp,
			wantPoints: points(pt(0, 1, "")), wantCause: CauseInvalidBounds},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var p Path
			if tc.dir == ScaleUp {
				p = FastestScaleUp(tc.spec, tc.opts)
			} else {
				p = FastestScaleDown(tc.spec, tc.opts)
			}
			if !reflect.DeepEqual(p.Points, tc.wantPoints) {
				t.Errorf("points = %v\nwant     %v", p.Points, tc.wantPoints)
			}
			if p.Reached != tc.wantReached || p.Duration != tc.wantDuration {
				t.Errorf("reached %v after %s, want %v after %s", p.Reached, p.Duration, tc.wantReached, tc.wantDuration)
			}
			if last := p.Points[len(p.Points)-1].Replicas; p.Final != last {
				t.Errorf("Final = %d, last point %d", p.Final, last)
			}
			switch {
			case tc.wantCause == "" && len(p.Stuck) > 0:
				t.Errorf("unexpected stuck reasons %v", p.Stuck)
			case tc.wantCause != "" && (len(p.Stuck) == 0 || p.Stuck[0].Cause != tc.wantCause):
				t.Errorf("stuck = %v, want cause %s", p.Stuck, tc.wantCause)
			}
		})
	}
}
