package explain

import (
	"slices"
	"strings"
	"testing"
)

func TestReplayScenarios(t *testing.T) {
	for name, tc := range replayScenarios {
		t.Run(name, func(t *testing.T) {
			tr, err := ParseTrace(name, strings.NewReader(tc.trace))
			if err != nil {
				t.Fatal(err)
			}
			run, err := Replay(name, tc.spec, tr, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []scenarioRescale
			for _, x := range run.Syncs {
				if x.Rescaled {
					got = append(got, scenarioRescale{x.At, x.Current, x.Replicas, x.Reason})
				}
			}
			if !slices.Equal(got, tc.rescales) {
				t.Errorf("rescales\n got %v\nwant %v", got, tc.rescales)
			}
			for _, want := range tc.syncs {
				found := false
				for _, x := range run.Syncs {
					if x.At != want.at {
						continue
					}
					found = true
					g := scenarioSync{x.At, x.MetricReplicas, x.Replicas, x.Reason, x.Stabilization}
					if g != want {
						t.Errorf("sync at %s\n got %+v\nwant %+v", want.at, g, want)
					}
				}
				if !found {
					t.Errorf("no sync at %s", want.at)
				}
			}
		})
	}
}

// The controller divides integer usage by integer requests
// (metrics.GetResourceUtilizationRatio); a decimal trace value must read
// the same, not one percent less where float64 lands just below a whole
// number. Both cases were found by test/oracle against the real controller.
func TestMeasuredUtilizationIsExactLikeTheController(t *testing.T) {
	tests := map[string]struct {
		value               float64
		current, measuredAt int32
		openLoop            bool
		want                int32
	}{
		"134.2 % at 15 read on 1":   {value: 134.2, current: 1, measuredAt: 15, want: 2013},
		"40.8 % at 25 read on 1":    {value: 40.8, current: 1, measuredAt: 25, want: 1020},
		"spread and rounded down":   {value: 70, current: 3, measuredAt: 2, want: 46},
		"open loop keeps the value": {value: 40.8, current: 7, measuredAt: 25, openLoop: true, want: 40},
		"no pods read nothing":      {value: 90, current: 0, measuredAt: 2, want: 0},
		"huge loads saturate":       {value: 1e18, current: 1, measuredAt: 1 << 30, want: 1<<31 - 1},
	}
	for name, tc := range tests {
		if got := measuredUtilization(tc.value, tc.current, tc.measuredAt, tc.openLoop); got != tc.want {
			t.Errorf("%s: got %d, want %d", name, got, tc.want)
		}
	}
}
