package explain

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// series is one metric of a trace read from a monitoring system: a name
// and timestamped values, before they are lined up into samples.
type series struct {
	name   string
	points []point
}

type point struct {
	at    time.Time
	value float64
	// line is where the value was read (0 when the format has no lines).
	line int
}

// maxTraceLength is the longest trace simulate replays.
const maxTraceLength = 365 * 24 * time.Hour

// traceFromSeries lines series up into a trace: one sample at every time
// any series has a value, each series holding its last value until its
// next, starting at the first time every series has one (earlier values of
// some series alone cannot be replayed). Times become offsets from that
// start. Column names follow the CSV header's rules.
func traceFromSeries(source string, headerLine int, all []series) (*Trace, error) {
	t := &Trace{Source: source, HeaderLine: headerLine, Kind: TraceUtilization}
	seen := map[string]bool{}
	for i, s := range all {
		fail := func(format string, args ...any) error {
			return &TraceError{Source: source, Line: headerLine, Column: i + 2, Name: s.name, Err: fmt.Errorf(format, args...)}
		}
		switch {
		case s.name == "":
			return nil, fail("empty metric name")
		case seen[s.name]:
			return nil, fail("duplicate metric")
		case s.name == string(TraceReplicas) && len(all) > 1:
			return nil, fail("replicas gives the desired count directly and cannot be combined with metric columns")
		case s.name == string(TraceReplicas):
			t.Kind = TraceReplicas
		case len(s.points) == 0:
			return nil, fail("no values")
		}
		seen[s.name] = true
		t.Columns = append(t.Columns, s.name)
		for _, p := range s.points {
			if math.IsNaN(p.value) || math.IsInf(p.value, 0) || p.value < 0 {
				return nil, &TraceError{Source: source, Line: p.line, Column: i + 2, Name: s.name, Err: fmt.Errorf("%v at %s is not a finite, non-negative number", p.value, p.at.UTC().Format(time.RFC3339))}
			}
			if t.Kind == TraceReplicas && (p.value != math.Trunc(p.value) || p.value > math.MaxInt32) {
				return nil, &TraceError{Source: source, Line: p.line, Column: i + 2, Name: s.name, Err: fmt.Errorf("%v is not a whole replica count", p.value)}
			}
		}
	}
	if len(all) == 0 {
		return nil, &TraceError{Source: source, Line: headerLine, Err: fmt.Errorf("no series: want one per metric, such as cpu and memory, or one named replicas")}
	}

	var start time.Time
	times := map[time.Time]bool{}
	for _, s := range all {
		sort.SliceStable(s.points, func(a, b int) bool { return s.points[a].at.Before(s.points[b].at) })
		if first := s.points[0].at; first.After(start) {
			start = first
		}
		for _, p := range s.points {
			times[p.at] = true
		}
	}
	var order []time.Time
	for at := range times {
		if !at.Before(start) {
			order = append(order, at)
		}
	}
	sort.Slice(order, func(a, b int) bool { return order[a].Before(order[b]) })
	if last := order[len(order)-1]; last.Sub(start) > maxTraceLength {
		return nil, &TraceError{Source: source, Err: fmt.Errorf("a trace longer than a year is not supported")}
	}
	next := make([]int, len(all))
	for _, at := range order {
		sample := Sample{At: at.Sub(start), Values: make([]float64, len(all))}
		for i, s := range all {
			for next[i]+1 < len(s.points) && !s.points[next[i]+1].at.After(at) {
				next[i]++
			}
			p := s.points[next[i]]
			sample.Values[i] = p.value
			sample.Line = max(sample.Line, p.line)
		}
		t.Samples = append(t.Samples, sample)
	}
	return t, nil
}
