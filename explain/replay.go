package explain

import (
	"fmt"
	"math"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// ReplayOptions are the settings of one replay.
type ReplayOptions struct {
	// Scaling are the controller's settings (sync period, default scale-down
	// window, tolerance).
	Scaling scaling.Options
	// InitialReplicas is the count before the first sync; zero means
	// minReplicas.
	InitialReplicas int32
	// MeasuredAt is the replica count at which a utilization trace was
	// measured. The load is taken to spread evenly over the pods, so at n
	// replicas the controller measures MeasuredAt/n times the trace's value.
	// Zero means minReplicas.
	MeasuredAt int32
	// OpenLoop replays utilization as written, whatever the replica count:
	// the trace is then what the controller measured, not a load.
	OpenLoop bool
}

// maxReplaySyncs bounds the work of one replay.
const maxReplaySyncs = 1 << 20

// SyncResult is what one sync of a replay saw and decided.
type SyncResult struct {
	At time.Duration
	// Current is the replica count before the sync.
	Current int32
	// Utilization is what the controller measured for each trace column,
	// in whole percent as it computes it; nil for a replicas trace.
	Utilization []int32
	scaling.Decision
}

// Run is one replay of a trace through one HPA.
type Run struct {
	Name string
	// Columns are the trace's metric columns (nil for a replicas trace),
	// Targets their HPA's utilization targets in percent.
	Columns                  []string
	Targets                  []int32
	SyncPeriod               time.Duration
	MinReplicas, MaxReplicas int32
	Syncs                    []SyncResult
	// Ignored names the HPA's metrics the trace has no column for; the
	// replay leaves them out.
	Ignored []string
}

// Replay runs tr through a scaling.Controller for spec, one sync every sync
// period from the first sample to the last, holding the latest sample
// between samples. Each sync turns the sample into one replica proposal per
// metric (the replica calculator's tolerance and ceil(ratio × current)),
// takes the highest, as the controller does across metrics, and lets the
// Controller stabilize, rate-limit and clamp it.
func Replay(name string, spec *autoscalingv2.HorizontalPodAutoscalerSpec, tr *Trace, o ReplayOptions) (Run, error) {
	minReplicas, maxReplicas := int32(1), spec.MaxReplicas
	if spec.MinReplicas != nil {
		minReplicas = *spec.MinReplicas
	}
	run := Run{Name: name, SyncPeriod: o.Scaling.SyncPeriod, MinReplicas: minReplicas, MaxReplicas: maxReplicas}
	if run.SyncPeriod <= 0 {
		run.SyncPeriod = scaling.DefaultSyncPeriod
	}
	if n := (tr.End()-tr.Start())/run.SyncPeriod + 1; n > maxReplaySyncs {
		return Run{}, &TraceError{Source: tr.Source, Err: fmt.Errorf("%d syncs of %s: too long a trace for this sync period (at most %d)", n, run.SyncPeriod, maxReplaySyncs)}
	}
	var targets []int32
	if tr.Kind == TraceUtilization {
		var err error
		targets, run.Ignored, err = utilizationTargets(spec, tr)
		if err != nil {
			return Run{}, err
		}
		run.Columns, run.Targets = tr.Columns, targets
	}
	measuredAt := o.MeasuredAt
	if measuredAt <= 0 {
		measuredAt = minReplicas
	}
	current := o.InitialReplicas
	if current <= 0 {
		current = minReplicas
	}

	c := scaling.NewController(spec, o.Scaling)
	// The controller's clock only matters relative to itself.
	epoch := time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	next := 0
	for at := tr.Start(); at <= tr.End(); at += run.SyncPeriod {
		for next+1 < len(tr.Samples) && tr.Samples[next+1].At <= at {
			next++
		}
		sample := tr.Samples[next]
		r := SyncResult{At: at, Current: current}
		var proposal int32
		if tr.Kind == TraceReplicas {
			proposal = int32(sample.Values[0])
		} else {
			r.Utilization = make([]int32, len(targets))
			for i, target := range targets {
				r.Utilization[i] = measuredUtilization(sample.Values[i], current, measuredAt, o.OpenLoop)
				p := proposalFor(current, r.Utilization[i], target, c.Tolerances())
				if i == 0 || p > proposal {
					proposal = p
				}
			}
		}
		r.Decision = c.Step(epoch.Add(at), current, proposal)
		current = r.Replicas
		run.Syncs = append(run.Syncs, r)
	}
	return run, nil
}

// measuredUtilization is the average utilization the controller would see at
// current replicas: whole percent, rounded down, because it divides integer
// usage by integer requests (metrics.GetResourceUtilizationRatio:
// Σusage × 100 / Σrequests in int64). The load is taken in thousandths of a
// percent and divided in integers the same way; in float64, 134.2 × 15
// reads 2012.9999999999998 and floors to 2012 where the controller reads
// 2013 (found by test/oracle).
func measuredUtilization(value float64, current, measuredAt int32, openLoop bool) int32 {
	if openLoop {
		current, measuredAt = 1, 1
	}
	if current == 0 {
		return 0
	}
	thousandths := math.Round(value * 1000)
	if load := thousandths * float64(measuredAt); load < 1<<62 {
		return int32(min(int64(load)/(int64(current)*1000), math.MaxInt32))
	}
	// Beyond int64: no controller measures this much; float64 is close
	// enough.
	return int32(min(math.Floor(value*float64(measuredAt)/float64(current)), math.MaxInt32))
}

// proposalFor is one metric's replica proposal. Resource metrics cannot be
// measured on zero pods, so a target at zero replicas proposes zero.
func proposalFor(current, utilization, target int32, t scaling.Tolerances) int32 {
	if current == 0 {
		return 0
	}
	return scaling.ReplicasForUsageRatio(current, float64(utilization)/float64(target), t)
}

// utilizationTargets matches each trace column to a Resource metric of spec
// with a Utilization target, and lists the metrics the trace leaves out.
func utilizationTargets(spec *autoscalingv2.HorizontalPodAutoscalerSpec, tr *Trace) (targets []int32, ignored []string, err error) {
	var have []string
	byName := map[string]autoscalingv2.MetricSpec{}
	for _, m := range spec.Metrics {
		name := metricName(m)
		have = append(have, name)
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil {
			byName[string(m.Resource.Name)] = m
		}
	}
	used := map[string]bool{}
	for i, col := range tr.Columns {
		fail := func(format string, args ...any) error {
			return &TraceError{Source: tr.Source, Line: tr.HeaderLine, Column: i + 2, Name: col, Err: fmt.Errorf(format, args...)}
		}
		m, ok := byName[col]
		if !ok {
			return nil, nil, fail("the HPA has no Resource metric %q (it has %s); name a column after one of its Resource metrics, or give seconds,replicas", col, strings.Join(have, ", "))
		}
		if m.Resource.Target.Type != autoscalingv2.UtilizationMetricType || m.Resource.Target.AverageUtilization == nil {
			return nil, nil, fail("the HPA's %s target is %s, not Utilization; give desired replicas instead (seconds,replicas)", col, m.Resource.Target.Type)
		}
		if *m.Resource.Target.AverageUtilization <= 0 {
			return nil, nil, fail("the HPA's %s target is %d%%; it must be positive", col, *m.Resource.Target.AverageUtilization)
		}
		targets = append(targets, *m.Resource.Target.AverageUtilization)
		used[col] = true
	}
	for _, m := range spec.Metrics {
		if name := metricName(m); !used[name] || m.Type != autoscalingv2.ResourceMetricSourceType {
			ignored = append(ignored, name)
		}
	}
	return targets, ignored, nil
}

// metricName names a metric the way people refer to it: cpu, memory, or
// the type and name for the others.
func metricName(m autoscalingv2.MetricSpec) string {
	switch {
	case m.Resource != nil && m.Type == autoscalingv2.ResourceMetricSourceType:
		return string(m.Resource.Name)
	case m.ContainerResource != nil:
		return fmt.Sprintf("%s/%s", m.ContainerResource.Container, m.ContainerResource.Name)
	case m.Pods != nil:
		return "pods:" + m.Pods.Metric.Name
	case m.Object != nil:
		return "object:" + m.Object.Metric.Name
	case m.External != nil:
		return "external:" + m.External.Metric.Name
	}
	return string(m.Type)
}

// Series is the run's replica trajectory for a chart: the starting count,
// then every rescale.
func (r Run) Series() Series {
	s := Series{Name: r.Name}
	if len(r.Syncs) == 0 {
		return s
	}
	s.Points = append(s.Points, Point{At: r.Syncs[0].At, Replicas: r.Syncs[0].Current})
	for _, x := range r.Syncs {
		if x.Rescaled {
			s.Points = append(s.Points, Point{At: x.At, Replicas: x.Replicas})
		}
	}
	return s
}
