package explain

import (
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

func TestStepsShowEachPolicysArithmetic(t *testing.T) {
	spec := scenarioSpec(2, 20, standardBehavior())
	up := Steps(spec, scaling.FastestScaleUp(spec, scaling.Options{}))
	want := []string{
		// 0 s from 2: both allow 4; Percent comes first and is picked.
		"0s 2→4 ScaleUpLimit [* Percent 100%/30s: ceil(2 × 2) = 4 | Pods 2/30s: 2 + 2 = 4]",
		"30s 4→8 ScaleUpLimit [* Percent 100%/30s: ceil(4 × 2) = 8 | Pods 2/30s: 4 + 2 = 6]",
		"1m0s 8→16 ScaleUpLimit [* Percent 100%/30s: ceil(8 × 2) = 16 | Pods 2/30s: 8 + 2 = 10]",
		"1m30s 16→20 TooManyReplicas [* Percent 100%/30s: ceil(16 × 2) = 32 | Pods 2/30s: 16 + 2 = 18]",
	}
	checkSteps(t, up, want)

	down := Steps(spec, scaling.FastestScaleDown(spec, scaling.Options{}))
	checkSteps(t, down, []string{
		"4m45s 20→10 ScaleDownLimit [* Percent 50%/60s: trunc(20 × 0.5) = 10]",
		"5m45s 10→5 ScaleDownLimit [* Percent 50%/60s: trunc(10 × 0.5) = 5]",
		"6m45s 5→2 TooFewReplicas [* Percent 50%/60s: trunc(5 × 0.5) = 2]",
	})

	// Pods 1/60 s against Percent 10 %/60 s, Max, from 10: 11 either way;
	// a minute later 11 + 1 = 12 loses to ceil(11 × 1.1) = ceil(12.1) = 13,
	// which is maxReplicas: the controller then names the bound.
	slow := scenarioSpec(10, 13, &autoscalingv2Behavior1)
	checkSteps(t, Steps(slow, scaling.FastestScaleUp(slow, scaling.Options{})), []string{
		"0s 10→11 ScaleUpLimit [* Pods 1/60s: 10 + 1 = 11 | Percent 10%/60s: ceil(10 × 1.1) = 11]",
		"1m0s 11→13 TooManyReplicas [Pods 1/60s: 11 + 1 = 12 | * Percent 10%/60s: ceil(11 × 1.1) = 13]",
	})

	legacy := scenarioSpec(2, 10, nil)
	if s := Steps(legacy, scaling.FastestScaleUp(legacy, scaling.Options{})); len(s) == 0 || s[0].Legacy != 4 {
		t.Errorf("legacy steps = %+v", s)
	}
}

func checkSteps(t *testing.T, steps []Step, want []string) {
	t.Helper()
	var got []string
	for _, s := range steps {
		var as []string
		for _, a := range s.Allowances {
			mark := ""
			if a.Chosen {
				mark = "* "
			}
			as = append(as, mark+a.String())
		}
		got = append(got, s.At.String()+" "+itoa(s.From)+"→"+itoa(s.To)+" "+string(s.Reason)+" ["+strings.Join(as, " | ")+"]")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
