package explain

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteCSV prints every sync of every run, one row each, under one header:
// series, seconds, the measured utilization per trace column, the replica
// count before the sync, the metrics' proposal, the stabilized count, the
// count after the sync, and the controller's two condition reasons.
func WriteCSV(w io.Writer, runs []Run) error {
	cw := csv.NewWriter(w)
	var columns []string
	if len(runs) > 0 {
		columns = runs[0].Columns
	}
	header := append([]string{"series", "seconds"}, columns...)
	header = append(header, "current_replicas", "metric_replicas", "stabilized_replicas", "replicas", "stabilization", "reason")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range runs {
		for _, s := range r.Syncs {
			row := []string{r.Name, seconds(s.At)}
			for _, u := range s.Utilization {
				row = append(row, strconv.Itoa(int(u)))
			}
			row = append(row, itoa(s.Current), itoa(s.MetricReplicas), itoa(s.StabilizedReplicas), itoa(s.Replicas),
				string(s.Stabilization), string(s.Reason))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }

// jsonSync is one sync in `simulate -o json`; its keys are a public format.
type jsonSync struct {
	Seconds            float64          `json:"seconds"`
	Utilization        map[string]int32 `json:"utilization,omitempty"`
	CurrentReplicas    int32            `json:"currentReplicas"`
	MetricReplicas     int32            `json:"metricReplicas"`
	StabilizedReplicas int32            `json:"stabilizedReplicas"`
	Replicas           int32            `json:"replicas"`
	Rescaled           bool             `json:"rescaled"`
	Stabilization      string           `json:"stabilization"`
	Reason             string           `json:"reason"`
}

type jsonSummary struct {
	Rescales       int     `json:"rescales"`
	ScaleUps       int     `json:"scaleUps"`
	ScaleDowns     int     `json:"scaleDowns"`
	Reversals      int     `json:"reversals"`
	PeakReplicas   int32   `json:"peakReplicas"`
	ReplicaMinutes float64 `json:"replicaMinutes"`
	ShortMinutes   float64 `json:"shortMinutes"`
	// AboveTargetMinutes: see Summary.
	AboveTargetMinutes float64 `json:"aboveTargetMinutes"`
}

type jsonRun struct {
	Name              string      `json:"name"`
	SyncPeriodSeconds float64     `json:"syncPeriodSeconds"`
	MinReplicas       int32       `json:"minReplicas"`
	MaxReplicas       int32       `json:"maxReplicas"`
	Summary           jsonSummary `json:"summary"`
	Syncs             []jsonSync  `json:"syncs"`
}

// WriteJSON prints {"series":[{name, syncPeriodSeconds, minReplicas,
// maxReplicas, summary, syncs:[…]}]}.
func WriteJSON(w io.Writer, runs []Run) error {
	out := struct {
		Series []jsonRun `json:"series"`
	}{Series: []jsonRun{}}
	for _, r := range runs {
		sum := r.Summarize()
		jr := jsonRun{Name: r.Name, SyncPeriodSeconds: r.SyncPeriod.Seconds(), MinReplicas: r.MinReplicas, MaxReplicas: r.MaxReplicas,
			Summary: jsonSummary{Rescales: sum.Rescales, ScaleUps: sum.ScaleUps, ScaleDowns: sum.ScaleDowns, Reversals: sum.Reversals,
				PeakReplicas: sum.PeakReplicas, ReplicaMinutes: sum.ReplicaMinutes, ShortMinutes: sum.ShortMinutes,
				AboveTargetMinutes: sum.AboveTargetMinutes},
			Syncs: make([]jsonSync, 0, len(r.Syncs))}
		for _, s := range r.Syncs {
			js := jsonSync{Seconds: s.At.Seconds(), CurrentReplicas: s.Current, MetricReplicas: s.MetricReplicas,
				StabilizedReplicas: s.StabilizedReplicas, Replicas: s.Replicas, Rescaled: s.Rescaled,
				Stabilization: string(s.Stabilization), Reason: string(s.Reason)}
			if s.Utilization != nil {
				js.Utilization = map[string]int32{}
				for i, c := range r.Columns {
					js.Utilization[c] = s.Utilization[i]
				}
			}
			jr.Syncs = append(jr.Syncs, js)
		}
		out.Series = append(out.Series, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteSummaries prints one line of numbers per run, aligned.
func WriteSummaries(w io.Writer, runs []Run) error {
	rows := [][]string{{"", "rescales", "up", "down", "reversals", "peak", "replica-minutes", "short-minutes", "above-target-minutes"}}
	for _, r := range runs {
		s := r.Summarize()
		rows = append(rows, []string{r.Name, strconv.Itoa(s.Rescales), strconv.Itoa(s.ScaleUps), strconv.Itoa(s.ScaleDowns),
			strconv.Itoa(s.Reversals), itoa(s.PeakReplicas), minutes(s.ReplicaMinutes), minutes(s.ShortMinutes), minutes(s.AboveTargetMinutes)})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteRescales prints each rescale of r: when, from, to, what the metrics
// asked for, what stabilization made of it, and what limited it.
func WriteRescales(w io.Writer, r Run) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Rescales of %s:\n", r.Name)
	fmt.Fprintf(&b, "  %8s  %9s  %7s  %10s  %s\n", "at", "replicas", "metrics", "stabilized", "reason")
	n := 0
	for _, s := range r.Syncs {
		if !s.Rescaled {
			continue
		}
		n++
		fmt.Fprintf(&b, "  %8s  %9s  %7d  %10d  %s\n", FormatDuration(s.At), fmt.Sprintf("%d → %d", s.Current, s.Replicas),
			s.MetricReplicas, s.StabilizedReplicas, s.Reason)
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func seconds(d interface{ Seconds() float64 }) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func minutes(m float64) string { return strconv.FormatFloat(m, 'f', 1, 64) }

// RunsChart draws runs together: same trace, same time axis, the first run's
// bounds.
func RunsChart(title string, runs []Run) Chart {
	c := Chart{Title: title, XLabel: "trace time"}
	for i, r := range runs {
		if i == 0 {
			c.MinReplicas, c.MaxReplicas = r.MinReplicas, r.MaxReplicas
			if len(r.Syncs) > 0 {
				c.Start, c.End = r.Syncs[0].At, r.Syncs[len(r.Syncs)-1].At
			}
		}
		c.Series = append(c.Series, r.Series())
	}
	return c
}
