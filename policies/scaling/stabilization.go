package scaling

import "time"

// recommendation is one unstabilized replica proposal the controller keeps to
// stabilize later ones.
type recommendation struct {
	replicas int32
	at       time.Time
}

// stabilizeWithBehavior is stabilizeRecommendationWithBehaviors: the result is
// current pulled up to the lowest recommendation of the scale-up window and
// down to the highest of the scale-down window, the new recommendation
// included. Windows are open at the old end (a recommendation exactly
// window-old no longer counts). The unstabilized desired value is recorded,
// overwriting the last entry that is older than both windows.
func stabilizeWithBehavior(recs []recommendation, now time.Time, current, desired int32,
	upWindow, downWindow time.Duration) (int32, Reason, []recommendation) {
	upCutoff, downCutoff := now.Add(-upWindow), now.Add(-downWindow)
	upFloor, downCeiling := desired, desired
	slot := -1
	for i, r := range recs {
		if r.at.After(upCutoff) {
			upFloor = min(upFloor, r.replicas)
		}
		if r.at.After(downCutoff) {
			downCeiling = max(downCeiling, r.replicas)
		}
		if r.at.Before(upCutoff) && r.at.Before(downCutoff) {
			slot = i
		}
	}
	stabilized := current
	if stabilized < upFloor {
		stabilized = upFloor
	}
	if stabilized > downCeiling {
		stabilized = downCeiling
	}
	recs = record(recs, slot, recommendation{replicas: desired, at: now})

	reason := ReasonScaleUpStabilized
	if desired < current {
		reason = ReasonScaleDownStabilized
	}
	return stabilized, reason, recs
}

// stabilizeLegacy is the no-behavior stabilizeRecommendation: only scale-down
// is stabilized, to the highest recommendation not older than window. Unlike
// the behavior path, a recommendation exactly window-old still counts.
func stabilizeLegacy(recs []recommendation, now time.Time, desired int32, window time.Duration) (int32, []recommendation) {
	cutoff := now.Add(-window)
	highest := desired
	slot := -1
	for i, r := range recs {
		if r.at.Before(cutoff) {
			slot = i
		} else {
			highest = max(highest, r.replicas)
		}
	}
	return highest, record(recs, slot, recommendation{replicas: desired, at: now})
}

// record stores r in slot, or appends it when there is no reusable slot.
func record(recs []recommendation, slot int, r recommendation) []recommendation {
	if slot >= 0 {
		recs[slot] = r
		return recs
	}
	return append(recs, r)
}
