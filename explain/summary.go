package explain

// Summary condenses a run into the numbers that tell behaviors apart.
type Summary struct {
	Syncs                          int
	Rescales, ScaleUps, ScaleDowns int
	// Reversals counts rescales opposite in direction to the one before:
	// flapping.
	Reversals    int
	PeakReplicas int32
	// ReplicaMinutes is what the run paid for: each sync's replica count
	// held for one sync period.
	ReplicaMinutes float64
	// ShortMinutes is how long the replica count after a sync stayed below
	// what the metrics asked for (capped at maxReplicas): time the workload
	// ran short of capacity.
	ShortMinutes float64
	// AboveTargetMinutes is how long some metric read above its target
	// (for a replicas trace: the metrics asked for more than the count):
	// time the workload ran hotter than the HPA is meant to keep it.
	AboveTargetMinutes float64
}

// Summarize computes r's Summary.
func (r Run) Summarize() Summary {
	s := Summary{Syncs: len(r.Syncs)}
	period := r.SyncPeriod.Minutes()
	last := 0
	for _, x := range r.Syncs {
		s.PeakReplicas = max(s.PeakReplicas, x.Current, x.Replicas)
		s.ReplicaMinutes += float64(x.Replicas) * period
		if x.Replicas < min(x.MetricReplicas, r.MaxReplicas) {
			s.ShortMinutes += period
		}
		if r.aboveTarget(x) {
			s.AboveTargetMinutes += period
		}
		if !x.Rescaled {
			continue
		}
		s.Rescales++
		dir := 1
		if x.Replicas < x.Current {
			dir = -1
			s.ScaleDowns++
		} else {
			s.ScaleUps++
		}
		if last != 0 && dir != last {
			s.Reversals++
		}
		last = dir
	}
	return s
}

// aboveTarget reports whether some metric read above its target at x.
func (r Run) aboveTarget(x SyncResult) bool {
	if x.Utilization == nil {
		return x.MetricReplicas > x.Current
	}
	for i, u := range x.Utilization {
		if i < len(r.Targets) && u > r.Targets[i] {
			return true
		}
	}
	return false
}
