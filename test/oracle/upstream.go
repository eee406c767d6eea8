package oracle

import "time"

// UpstreamSync is what the real controller did at one sync, read from the
// HPA status it wrote, the scale it set and the proposal it logged.
type UpstreamSync struct {
	// At is the time since the first sync.
	At time.Duration
	// Current is the target's count before the sync, Replicas after it.
	Current, Replicas int32
	// MetricReplicas is the metrics' proposal before normalization, when
	// the sync reached the metrics (MetricLogged).
	MetricReplicas int32
	MetricLogged   bool
	// Utilization is status.currentMetrics' averageUtilization for each
	// trace column (-1 when absent).
	Utilization []int32
	// Condition reasons after the sync, and ScalingLimited's status.
	AbleToScale, ScalingLimited, ScalingActive string
	Limited                                    bool
}
