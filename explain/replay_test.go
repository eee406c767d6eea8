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
