package scaling

import (
	"slices"
	"testing"
	"time"
)

func recAt(replicas int32, age time.Duration) recommendation {
	return recommendation{replicas: replicas, at: testNow.Add(-age)}
}

func recValues(recs []recommendation) []int32 {
	out := make([]int32, len(recs))
	for i, r := range recs {
		out[i] = r.replicas
	}
	return out
}

// Mirrors TestNormalizeDesiredReplicasWithBehavior in the controller's
// horizontal_test.go: the stabilized value and which stored recommendation
// the new one overwrites.
func TestStabilizeWithBehavior(t *testing.T) {
	tests := map[string]struct {
		recs             []recommendation
		current, desired int32
		up, down         time.Duration
		want             int32
		wantReason       Reason
		wantRecs         []int32
	}{
		"empty history scaling down": {current: 100, desired: 5,
			want: 5, wantRecs: []int32{5}},
		"scale-down takes the highest in the window": {recs: []recommendation{recAt(4, 2*time.Minute), recAt(5, time.Minute)},
			current: 100, desired: 3, down: 3 * time.Minute,
			want: 5, wantReason: ReasonScaleDownStabilized, wantRecs: []int32{4, 5, 3}},
		"scale-up takes the lowest in the window": {recs: []recommendation{recAt(4, 2*time.Minute), recAt(5, time.Minute)},
			current: 1, desired: 7, up: 5 * time.Minute,
			want: 4, wantReason: ReasonScaleUpStabilized, wantRecs: []int32{4, 5, 7}},
		"lower history does not hold a scale-down": {recs: []recommendation{recAt(1, 2*time.Minute), recAt(2, time.Minute)},
			current: 100, desired: 3, up: 5 * time.Minute,
			want: 3, wantRecs: []int32{1, 2, 3}},
		"higher history does not hold a scale-up": {recs: []recommendation{recAt(4, 2*time.Minute), recAt(5, time.Minute)},
			current: 1, desired: 3, down: 5 * time.Minute,
			want: 3, wantRecs: []int32{4, 5, 3}},
		"no windows: the last old entry is reused (down)": {recs: []recommendation{recAt(10, 10*time.Minute), recAt(9, 9*time.Minute)},
			current: 100, desired: 3,
			want: 3, wantRecs: []int32{10, 3}},
		"no windows: the last old entry is reused (up)": {recs: []recommendation{recAt(10, 10*time.Minute), recAt(9, 9*time.Minute)},
			current: 1, desired: 100,
			want: 100, wantRecs: []int32{10, 100}},
		"scale-down window: only the entry old for both windows is reused": {
			recs:    []recommendation{recAt(10, 10*time.Minute), recAt(4, time.Minute), recAt(5, 2*time.Minute), recAt(9, 9*time.Minute)},
			current: 100, desired: 3, down: 3 * time.Minute,
			want: 5, wantReason: ReasonScaleDownStabilized, wantRecs: []int32{10, 4, 5, 3}},
		"scale-up window: only the entry old for both windows is reused": {
			recs:    []recommendation{recAt(10, 100*time.Minute), recAt(6, time.Minute), recAt(5, 2*time.Minute), recAt(9, 3*time.Minute)},
			current: 1, desired: 100, up: 5 * time.Minute, down: 5 * time.Minute,
			want: 5, wantReason: ReasonScaleUpStabilized, wantRecs: []int32{100, 6, 5, 9}},
		"an entry exactly window-old no longer counts": {recs: []recommendation{recAt(9, 5*time.Minute)},
			current: 10, desired: 3, down: 5 * time.Minute,
			want: 3, wantRecs: []int32{9, 3}},
		"current between the window bounds stays": {recs: []recommendation{recAt(4, time.Minute), recAt(12, time.Minute)},
			current: 8, desired: 6, up: 5 * time.Minute, down: 5 * time.Minute,
			want: 8, wantReason: ReasonScaleDownStabilized, wantRecs: []int32{4, 12, 6}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, reason, recs := stabilizeWithBehavior(append([]recommendation(nil), tc.recs...), testNow, tc.current, tc.desired, tc.up, tc.down)
			if got != tc.want {
				t.Errorf("stabilized = %d, want %d", got, tc.want)
			}
			if got != tc.desired && reason != tc.wantReason {
				t.Errorf("reason = %s, want %s", reason, tc.wantReason)
			}
			if !slices.Equal(recValues(recs), tc.wantRecs) {
				t.Errorf("recommendations = %v, want %v", recValues(recs), tc.wantRecs)
			}
		})
	}
}

// Mirrors TestNormalizeDesiredReplicas (the legacy stabilizeRecommendation,
// window 5 minutes): stabilized value and log length.
func TestStabilizeLegacy(t *testing.T) {
	tests := map[string]struct {
		recs    []recommendation
		desired int32
		want    int32
		wantLen int
	}{
		"empty log": {desired: 5, want: 5, wantLen: 1},
		"stabilize": {recs: []recommendation{recAt(4, 2*time.Minute), recAt(5, time.Minute)},
			desired: 3, want: 5, wantLen: 3},
		"no stabilize": {recs: []recommendation{recAt(1, 2*time.Minute), recAt(2, time.Minute)},
			desired: 3, want: 3, wantLen: 3},
		"no stabilize - old recommendations": {recs: []recommendation{recAt(10, 10*time.Minute), recAt(9, 9*time.Minute)},
			desired: 3, want: 3, wantLen: 2},
		"stabilize - old recommendations": {
			recs:    []recommendation{recAt(10, 10*time.Minute), recAt(4, time.Minute), recAt(5, 2*time.Minute), recAt(9, 9*time.Minute)},
			desired: 3, want: 5, wantLen: 4},
		"an entry exactly window-old still counts": {recs: []recommendation{recAt(9, 5*time.Minute)},
			desired: 3, want: 9, wantLen: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, recs := stabilizeLegacy(append([]recommendation(nil), tc.recs...), testNow, tc.desired, 5*time.Minute)
			if got != tc.want || len(recs) != tc.wantLen {
				t.Errorf("stabilizeLegacy = %d with %d entries, want %d with %d", got, len(recs), tc.want, tc.wantLen)
			}
		})
	}
}
