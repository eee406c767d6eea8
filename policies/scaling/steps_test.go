package scaling

import (
	"slices"
	"testing"
	"time"
)

// The exported steps hand their inputs to the same functions Step uses and
// must not change what the caller passed (stabilizeRecommendationWithBehaviors
// overwrites an old entry in place; the exported form copies first).
func TestStabilizeWithBehaviorLeavesInputAlone(t *testing.T) {
	recs := []Recommendation{{Replicas: 10, At: testNow.Add(-10 * time.Minute)}, {Replicas: 4, At: testNow.Add(-time.Minute)}}
	before := slices.Clone(recs)
	got, reason, kept := StabilizeWithBehavior(recs, testNow, 100, 3, 0, 3*time.Minute)
	if got != 4 || reason != ReasonScaleDownStabilized {
		t.Errorf("got %d %s, want 4 ScaleDownStabilized (the highest of the 3-minute window)", got, reason)
	}
	if want := []int32{3, 4}; !slices.Equal(replicasOf(kept), want) {
		t.Errorf("kept %v, want %v (the 10-minute-old entry overwritten)", replicasOf(kept), want)
	}
	if !slices.Equal(recs, before) {
		t.Errorf("input changed to %v", recs)
	}
}

// Without a behavior the controller stores no scale events
// (storeScaleEvent returns at once for a nil behavior).
func TestStoreScaleEventWithoutRulesStoresNothing(t *testing.T) {
	events := []ScaleEvent{{At: testNow.Add(-61 * time.Second), Change: 7}}
	if got := StoreScaleEvent(events, testNow, nil, 5); len(got) != 1 || got[0].Change != 7 || got[0].Outdated() {
		t.Errorf("got %+v, want the one event untouched", got)
	}
	got := StoreScaleEvent(events, testNow, rulesOf(10, 60, 0, 0, 0), 5)
	if len(got) != 1 || got[0].Change != 5 || got[0].At != testNow {
		t.Errorf("got %+v, want the 61 s old event overwritten by the new one", got)
	}
}

func replicasOf(recs []Recommendation) []int32 {
	out := make([]int32, len(recs))
	for i, r := range recs {
		out[i] = r.Replicas
	}
	return out
}
