package scaling

import (
	"fmt"
	"math"
	mathrand "math/rand"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// randomRules draws scaling rules the way people write them, plus the odd
// empty list, zero value and nil field.
func randomRules(r *rand.Rand) *autoscalingv2.HPAScalingRules {
	if r.IntN(5) == 0 {
		return nil
	}
	rules := &autoscalingv2.HPAScalingRules{}
	if r.IntN(3) > 0 {
		rules.StabilizationWindowSeconds = ptrTo(int32(r.IntN(8) * 45))
	}
	switch r.IntN(8) {
	case 0:
		rules.SelectPolicy = ptrTo(autoscalingv2.MinChangePolicySelect)
	case 1:
		rules.SelectPolicy = ptrTo(autoscalingv2.DisabledPolicySelect)
	case 2, 3:
		rules.SelectPolicy = ptrTo(autoscalingv2.MaxChangePolicySelect)
	}
	n := r.IntN(4)
	if n == 0 && r.IntN(4) == 0 {
		rules.Policies = []autoscalingv2.HPAScalingPolicy{}
	}
	for range n {
		p := autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: int32(1 + r.IntN(6)), PeriodSeconds: int32(1 + r.IntN(240))}
		if r.IntN(2) == 0 {
			p = autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: int32(1 + r.IntN(300)), PeriodSeconds: int32(1 + r.IntN(240))}
		}
		if r.IntN(25) == 0 {
			p.Value = 0
		}
		rules.Policies = append(rules.Policies, p)
	}
	if r.IntN(6) == 0 {
		rules.Tolerance = resource.NewMilliQuantity(int64(r.IntN(1300)), resource.DecimalSI)
	}
	return rules
}

func randomSpec(r *rand.Rand) *autoscalingv2.HorizontalPodAutoscalerSpec {
	spec := &autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: int32(r.IntN(60))}
	if r.IntN(10) == 0 {
		spec.MaxReplicas = int32(r.IntN(5000))
	}
	if r.IntN(4) > 0 {
		spec.MinReplicas = ptrTo(int32(r.IntN(6)))
	}
	if r.IntN(5) > 0 {
		spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: randomRules(r), ScaleDown: randomRules(r)}
	}
	return spec
}

// bruteForcePath is the oracle for FastestScaleUp/Down: the same Controller,
// but a full steady-state history (a sync every period for longer than any
// window or policy period) and a step at every sync up to the horizon.
func bruteForcePath(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options, dir Direction) ([]PathPoint, bool) {
	o := opts.resolve()
	minReplicas, maxReplicas := replicaBounds(spec)
	from, to, ratio := minReplicas, maxReplicas, 1e300
	if dir == ScaleDown {
		from, to, ratio = maxReplicas, minReplicas, 0
	}
	got := []PathPoint{{Replicas: from}}
	if boundsReasons(spec, hpaFields) != nil || from == to {
		return got, from == to
	}
	steady := 1.0
	if from == 0 {
		steady = 0
	}
	c := NewController(spec, opts)
	history := 2*o.downscaleStabilization + 2*time.Hour
	for at := -history.Truncate(o.syncPeriod); at < 0; at += o.syncPeriod {
		if d := c.StepUsageRatio(testNow.Add(at), from, steady); d.Rescaled {
			panic(fmt.Sprintf("steady state moved at %s: %+v", at, d))
		}
	}
	current := from
	for at := time.Duration(0); at <= o.horizon; at += o.syncPeriod {
		d := c.StepUsageRatio(testNow.Add(at), current, ratio)
		if d.Replicas != current {
			current = d.Replicas
			got = append(got, PathPoint{After: at, Replicas: current, Reason: d.Reason})
			if current == to {
				return got, true
			}
		}
	}
	return got, false
}

// The fast analyses skip syncs; stepping every sync with a long warm-up must
// give the same path, and Stuck must agree with where the paths stop.
func TestFastestPathsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(20260801, 1))
	syncs := []time.Duration{15 * time.Second, 10 * time.Second, 30 * time.Second, 7 * time.Second}
	for i := range 400 {
		spec := randomSpec(r)
		opts := Options{SyncPeriod: syncs[r.IntN(len(syncs))], Horizon: 90 * time.Minute}
		if r.IntN(4) == 0 {
			opts.DownscaleStabilizationWindow = ptrTo(time.Duration(r.IntN(600)) * time.Second)
		}
		stuck := Stuck(spec, opts)
		for _, dir := range []Direction{ScaleUp, ScaleDown} {
			var fast Path
			if dir == ScaleUp {
				fast = FastestScaleUp(spec, opts)
			} else {
				fast = FastestScaleDown(spec, opts)
			}
			wantPoints, wantReached := bruteForcePath(spec, opts, dir)
			if !reflect.DeepEqual(fast.Points, wantPoints) || fast.Reached != wantReached {
				t.Fatalf("case %d %s %s\nfast  %v reached=%v\nbrute %v reached=%v", i, dir, describe(spec, opts),
					fast.Points, fast.Reached, wantPoints, wantReached)
			}
			if fast.Reached && fast.Duration != wantPoints[len(wantPoints)-1].After {
				t.Fatalf("case %d %s: duration %s, last point %v", i, dir, fast.Duration, wantPoints[len(wantPoints)-1])
			}

			blocked := hasDirection(stuck, dir)
			fixedPointAtStart := !fast.Reached && fast.Final == fast.From && len(fast.Stuck) > 0 && fast.Stuck[0].Cause != CauseTooSlow
			if boundsReasons(spec, hpaFields) == nil && blocked != fixedPointAtStart {
				t.Fatalf("case %d %s %s: Stuck says %v but the path says %v (%v)", i, dir, describe(spec, opts),
					stuck, fast.Stuck, fast.Points)
			}
		}
	}
}

func hasDirection(reasons []StuckReason, dir Direction) bool {
	for _, r := range reasons {
		if r.Direction == dir {
			return true
		}
	}
	return false
}

func describe(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts Options) string {
	out := fmt.Sprintf("min=%v max=%d sync=%s", deref(spec.MinReplicas), spec.MaxReplicas, opts.SyncPeriod)
	if opts.DownscaleStabilizationWindow != nil {
		out += fmt.Sprintf(" flagWindow=%s", *opts.DownscaleStabilizationWindow)
	}
	if spec.Behavior == nil {
		return out + " behavior=nil"
	}
	return out + fmt.Sprintf(" up=%s down=%s", describeRules(spec.Behavior.ScaleUp), describeRules(spec.Behavior.ScaleDown))
}

func describeRules(r *autoscalingv2.HPAScalingRules) string {
	if r == nil {
		return "nil"
	}
	tol := "nil"
	if r.Tolerance != nil {
		tol = r.Tolerance.String()
	}
	return fmt.Sprintf("{window=%v select=%v policies=%v tol=%s}", deref(r.StabilizationWindowSeconds), deref(r.SelectPolicy), r.Policies, tol)
}

func deref[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

// Stuck relies on every positive Percent policy moving at least one replica
// from any count above zero; check it over the whole int32 range of starts.
func TestPercentPoliciesAlwaysProgress(t *testing.T) {
	up := func(start, p uint32) bool {
		s, v := int32(start%math.MaxInt32+1), int32(p%1000+1)
		return PercentScaleUpLimit(s, v) > s || s == math.MaxInt32
	}
	down := func(start, p uint32) bool {
		s, v := int32(start%math.MaxInt32+1), int32(p%1000+1)
		return PercentScaleDownLimit(s, v) < s
	}
	cfg := &quick.Config{MaxCount: 20000, Rand: mathrand.New(mathrand.NewSource(7))}
	if err := quick.Check(up, cfg); err != nil {
		t.Error("scale-up:", err)
	}
	if err := quick.Check(down, cfg); err != nil {
		t.Error("scale-down:", err)
	}
}
