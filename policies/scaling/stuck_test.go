package scaling

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestStuck(t *testing.T) {
	disabled := func(r *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
		return withSelect(r, autoscalingv2.DisabledPolicySelect)
	}
	type want struct {
		dir   Direction
		cause Cause
		field string
		at    int32
	}
	tests := map[string]struct {
		spec *autoscalingv2.HorizontalPodAutoscalerSpec
		opts Options
		want []want
	}{
		"design card is fine":         {spec: designCardSpec()},
		"no behavior is fine":         {spec: &autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5}},
		"default behavior is fine":    {spec: specWith(nil, 5, nil, nil)},
		"equal bounds pin on purpose": {spec: specWith(ptrTo[int32](4), 4, disabled(rulesOf(1, 60, 0, 0, 0)), nil)},
		"negative minReplicas": {spec: specWith(ptrTo[int32](-1), 5, nil, nil),
			want: []want{{"", CauseInvalidBounds, "spec.minReplicas", -1}}},
		"maxReplicas below minReplicas": {spec: specWith(ptrTo[int32](3), 2, nil, nil),
			want: []want{{"", CauseInvalidBounds, "spec.maxReplicas", 3}}},
		"nil spec": {spec: nil,
			want: []want{{"", CauseInvalidBounds, "spec.maxReplicas", 1}}},
		"scale-up Disabled": {spec: specWith(ptrTo[int32](2), 5, disabled(rulesOf(1, 60, 0, 0, 0)), nil),
			want: []want{{ScaleUp, CauseDisabled, "spec.behavior.scaleUp.selectPolicy", 2}}},
		"both directions Disabled": {spec: specWith(ptrTo[int32](2), 5, disabled(rulesOf(1, 60, 0, 0, 0)), disabled(rulesOf(1, 60, 0, 0, 0))),
			want: []want{{ScaleUp, CauseDisabled, "spec.behavior.scaleUp.selectPolicy", 2},
				{ScaleDown, CauseDisabled, "spec.behavior.scaleDown.selectPolicy", 5}}},
		"Percent only from zero": {spec: specWith(ptrTo[int32](0), 5, rulesOf(0, 0, 100, 15, 0), nil),
			want: []want{{ScaleUp, CausePercentFromZero, "spec.behavior.scaleUp.policies", 0}}},
		"Percent and Pods with Max leave zero": {spec: specWith(ptrTo[int32](0), 5, rulesOf(1, 15, 100, 15, 0), nil)},
		"Min picks the Percent policy at zero": {spec: specWith(ptrTo[int32](0), 5,
			withSelect(rulesOf(1, 15, 100, 15, 0), autoscalingv2.MinChangePolicySelect), nil),
			want: []want{{ScaleUp, CausePercentFromZero, "spec.behavior.scaleUp.policies", 0}}},
		"Percent only from one is fine": {spec: specWith(ptrTo[int32](1), 5, rulesOf(0, 0, 1, 15, 0), nil)},
		"empty scale-down policies": {spec: specWith(ptrTo[int32](1), 5, nil,
			&autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}),
			want: []want{{ScaleDown, CauseNoPolicies, "spec.behavior.scaleDown.policies", 5}}},
		"zero-valued policy": {spec: specWith(ptrTo[int32](1), 5, &autoscalingv2.HPAScalingRules{
			Policies: []autoscalingv2.HPAScalingPolicy{pods(0, 60)}}, nil),
			want: []want{{ScaleUp, CauseNonPositivePolicy, "spec.behavior.scaleUp.policies[0].value", 1}}},
		"scale-down tolerance 1": {spec: specWith(ptrTo[int32](1), 5, nil, &autoscalingv2.HPAScalingRules{Tolerance: quantity("1")}),
			want: []want{{ScaleDown, CauseTolerance, "spec.behavior.scaleDown.tolerance", 5}}},
		"scale-down tolerance just below 1 is fine": {spec: specWith(ptrTo[int32](1), 5, nil, &autoscalingv2.HPAScalingRules{Tolerance: quantity("999m")})},
		"cluster tolerance 1 without behavior": {spec: &autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5},
			opts: Options{Tolerance: ptrTo(1.0)},
			want: []want{{ScaleDown, CauseTolerance, "spec.behavior.scaleDown.tolerance", 5}}},
		// An HPA built from another object (KEDA's from a ScaledObject) is
		// fixed where that object writes its fields.
		"fields of the object the HPA is built from": {spec: specWith(ptrTo[int32](2), 5, &autoscalingv2.HPAScalingRules{
			Policies: []autoscalingv2.HPAScalingPolicy{pods(0, 60)}}, nil),
			opts: Options{Fields: Fields{Behavior: field.NewPath("spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")}},
			want: []want{{ScaleUp, CauseNonPositivePolicy, "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].value", 2}}},
		"bounds of the object the HPA is built from": {spec: specWith(ptrTo[int32](3), 2, nil, nil),
			opts: Options{Fields: Fields{MaxReplicas: field.NewPath("spec", "maxReplicaCount")}},
			want: []want{{"", CauseInvalidBounds, "spec.maxReplicaCount", 3}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Stuck(tc.spec, tc.opts)
			if len(got) != len(tc.want) {
				t.Fatalf("Stuck = %v, want %d reasons", got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Direction != w.dir || g.Cause != w.cause || g.Field.String() != w.field || g.Replicas != w.at {
					t.Errorf("reason %d = {%s %s %s %d}, want %+v", i, g.Direction, g.Cause, g.Field, g.Replicas, w)
				}
				if g.Message == "" || len(g.String()) > 160 {
					t.Errorf("message %q should be short and present", g.String())
				}
			}
		})
	}
}
