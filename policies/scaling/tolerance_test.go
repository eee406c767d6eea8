package scaling

import (
	"math"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

func TestTolerancesWithin(t *testing.T) {
	def := Tolerances{ScaleUp: DefaultTolerance, ScaleDown: DefaultTolerance}
	tests := map[string]struct {
		t     Tolerances
		ratio float64
		want  bool
	}{
		"1.1 is on the upper edge, inclusive":   {def, 1.1, true},
		"0.9 is on the lower edge, inclusive":   {def, 0.9, true},
		"just above the band":                   {def, 1.1000000000000003, false},
		"just below the band":                   {def, 0.8999999999999999, false},
		"zero tolerance keeps only 1":           {Tolerances{}, 1, true},
		"zero tolerance moves on anything else": {Tolerances{}, 1.0000000000000002, false},
		"scale-down tolerance 1 swallows 0":     {Tolerances{ScaleUp: 0.1, ScaleDown: 1}, 0, true},
		"infinite demand is never within":       {def, math.Inf(1), false},
		"NaN is never within":                   {def, math.NaN(), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.t.Within(tc.ratio); got != tc.want {
				t.Errorf("%+v.Within(%v) = %v, want %v", tc.t, tc.ratio, got, tc.want)
			}
		})
	}
}

func TestTolerancesFor(t *testing.T) {
	tests := map[string]struct {
		spec *autoscalingv2.HorizontalPodAutoscalerSpec
		opts Options
		want Tolerances
	}{
		"nil spec uses the cluster default": {nil, Options{}, Tolerances{0.1, 0.1}},
		"no behavior uses the cluster flag": {&autoscalingv2.HorizontalPodAutoscalerSpec{}, Options{Tolerance: ptrTo(0.05)},
			Tolerances{0.05, 0.05}},
		"per-direction fields win": {specWith(nil, 10,
			&autoscalingv2.HPAScalingRules{Tolerance: quantity("0.01")},
			&autoscalingv2.HPAScalingRules{Tolerance: quantity("500m")}), Options{Tolerance: ptrTo(0.2)},
			Tolerances{0.01, 0.5}},
		"one direction set, the other from the flag": {specWith(nil, 10, nil,
			&autoscalingv2.HPAScalingRules{Tolerance: quantity("1")}), Options{},
			Tolerances{0.1, 1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := TolerancesFor(tc.spec, tc.opts); got != tc.want {
				t.Errorf("TolerancesFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Mirrors the simple (all pods ready) branch of the replica calculator tests
// (TestReplicaCalcScaleUp, TestReplicaCalcTolerance, TestReplicaCalcScaleDown…)
// and getUsageRatioReplicaCount's zero-replica branch.
func TestReplicasForUsageRatio(t *testing.T) {
	def := Tolerances{ScaleUp: DefaultTolerance, ScaleDown: DefaultTolerance}
	tests := map[string]struct {
		current int32
		ratio   float64
		t       Tolerances
		want    int32
	}{
		"scale up: 3 pods at 50/30":       {3, 50.0 / 30, def, 5},
		"scale down: 5 pods at 28/50":     {5, 28.0 / 50, def, 3},
		"within tolerance keeps current":  {3, 1.02, def, 3},
		"upper edge keeps current":        {3, 1.1, def, 3},
		"past the edge rounds up":         {3, 1.11, def, 4},
		"lower edge keeps current":        {10, 0.9, def, 10},
		"below the edge":                  {10, 0.89, def, 9},
		"zero usage scales to zero":       {4, 0, def, 0},
		"scale-down tolerance 1 holds":    {4, 0, Tolerances{0.1, 1}, 4},
		"from zero: ceil(ratio)":          {0, 2.5, def, 3},
		"from zero, no tolerance applied": {0, 1.05, def, 2},
		"from zero with zero usage":       {0, 0, def, 0},
		"infinite demand saturates":       {5, math.Inf(1), def, math.MaxInt32},
		"infinite demand from zero":       {0, math.Inf(1), def, math.MaxInt32},
		"NaN keeps current":               {5, math.NaN(), def, 5},
		"huge finite demand saturates":    {1000, 1e10, def, math.MaxInt32},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ReplicasForUsageRatio(tc.current, tc.ratio, tc.t); got != tc.want {
				t.Errorf("ReplicasForUsageRatio(%d, %v) = %d, want %d", tc.current, tc.ratio, got, tc.want)
			}
		})
	}
}
