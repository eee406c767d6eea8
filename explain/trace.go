package explain

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// TraceKind says what a trace's columns hold.
type TraceKind string

const (
	// TraceUtilization: one column per Resource metric of the HPA (cpu,
	// memory, …), each the average utilization in percent of requests.
	TraceUtilization TraceKind = "utilization"
	// TraceReplicas: one column, replicas, the replica count the metrics
	// ask for (the controller's metric proposal) directly.
	TraceReplicas TraceKind = "replicas"
)

// Trace is a metric trace read from CSV: a header `seconds,<column>…` and one
// row per sample. Between samples the last one holds.
type Trace struct {
	// Source names the file, for errors.
	Source string
	// HeaderLine is the header's line in the file.
	HeaderLine int
	Kind       TraceKind
	Columns    []string
	Samples    []Sample
}

// Sample is one row of a trace.
type Sample struct {
	At time.Duration
	// Values has one entry per column.
	Values []float64
	// Line is the sample's line in the file.
	Line int
}

// TraceError names the place in a trace file that is wrong: file, line and
// column (1-based, counting `seconds`).
type TraceError struct {
	Source       string
	Line, Column int
	// Name is the column's header, when known.
	Name string
	Err  error
}

func (e *TraceError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, ": column %d", e.Column)
		if e.Name != "" {
			fmt.Fprintf(&b, " (%s)", e.Name)
		}
	}
	return b.String() + ": " + e.Err.Error()
}

func (e *TraceError) Unwrap() error { return e.Err }

const secondsColumn = "seconds"

// ParseTrace reads a trace in any format simulate accepts: scaleguard's own
// CSV (`seconds,<column>…`), the JSON of a Prometheus range query
// (trace_prometheus.go) or a Grafana CSV export (trace_grafana.go), told
// apart by their first bytes.
func ParseTrace(source string, r io.Reader) (*Trace, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &TraceError{Source: source, Err: err}
	}
	switch {
	case isPrometheusJSON(data):
		return parsePrometheusTrace(source, data)
	case isGrafanaCSV(data):
		return parseGrafanaTrace(source, data)
	}
	return parseCSVTrace(source, bytes.NewReader(data))
}

// parseCSVTrace reads scaleguard's CSV. Lines starting with # are comments.
// Times are seconds from the start of the trace (decimals allowed,
// strictly increasing); values are non-negative numbers, and replica counts
// whole numbers.
func parseCSVTrace(source string, r io.Reader) (*Trace, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	// Field counts are checked here, to say what the header expects.
	cr.FieldsPerRecord = -1
	fail := func(line, col int, name string, format string, args ...any) error {
		return &TraceError{Source: source, Line: line, Column: col, Name: name, Err: fmt.Errorf(format, args...)}
	}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fail(0, 0, "", "empty trace: want a header such as seconds,cpu or seconds,replicas")
	}
	if err != nil {
		return nil, csvError(source, err)
	}
	headerLine, _ := cr.FieldPos(0)
	t := &Trace{Source: source, HeaderLine: headerLine, Kind: TraceUtilization}
	if len(header) < 2 {
		return nil, fail(headerLine, 0, "", "header %q: want seconds and at least one column, such as seconds,cpu or seconds,replicas", strings.Join(header, ","))
	}
	if h := strings.TrimSpace(header[0]); h != secondsColumn {
		return nil, fail(headerLine, 1, h, "the first column must be seconds")
	}
	seen := map[string]bool{}
	for i, h := range header[1:] {
		name := strings.TrimSpace(h)
		switch {
		case name == "":
			return nil, fail(headerLine, i+2, "", "empty column name")
		case seen[name]:
			return nil, fail(headerLine, i+2, name, "duplicate column")
		case name == string(TraceReplicas) && len(header) > 2:
			return nil, fail(headerLine, i+2, name, "replicas gives the desired count directly and cannot be combined with metric columns")
		case name == string(TraceReplicas):
			t.Kind = TraceReplicas
		}
		seen[name] = true
		t.Columns = append(t.Columns, name)
	}

	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(source, err)
		}
		line, _ := cr.FieldPos(0)
		if len(record) != len(header) {
			return nil, fail(line, 0, "", "%d fields, but the header has %d (%s)", len(record), len(header), strings.Join(header, ","))
		}
		s := Sample{Line: line, Values: make([]float64, len(t.Columns))}
		seconds, err := parseNumber(record[0])
		if err != nil {
			return nil, fail(line, 1, secondsColumn, "%v", err)
		}
		s.At = time.Duration(math.Round(seconds * float64(time.Second)))
		if n := len(t.Samples); n > 0 && s.At <= t.Samples[n-1].At {
			return nil, fail(line, 1, secondsColumn, "%s is not after the previous sample (line %d); times must increase", record[0], t.Samples[n-1].Line)
		}
		for i, field := range record[1:] {
			v, err := parseNumber(field)
			if err == nil && t.Kind == TraceReplicas && (v != math.Trunc(v) || v > math.MaxInt32) {
				err = fmt.Errorf("%q is not a whole replica count", field)
			}
			if err != nil {
				return nil, fail(line, i+2, t.Columns[i], "%v", err)
			}
			s.Values[i] = v
		}
		t.Samples = append(t.Samples, s)
	}
	if len(t.Samples) == 0 {
		return nil, fail(headerLine, 0, "", "no samples after the header")
	}
	if t.Samples[0].At > 365*24*time.Hour || t.Samples[len(t.Samples)-1].At > 365*24*time.Hour {
		return nil, fail(t.Samples[len(t.Samples)-1].Line, 1, secondsColumn, "a trace longer than a year is not supported")
	}
	return t, nil
}

// parseNumber accepts finite, non-negative decimal numbers.
func parseNumber(field string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", field)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number", field)
	case v < 0:
		return 0, fmt.Errorf("%q is negative", field)
	}
	return v, nil
}

// csvError turns the csv package's error (wrong field count, bad quoting)
// into a TraceError with the same line and column.
func csvError(source string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &TraceError{Source: source, Line: pe.Line, Err: pe.Err}
	}
	return &TraceError{Source: source, Err: err}
}

// At returns the sample in force at t: the last one not after t (samples
// are held, not interpolated, as a metrics pipeline reports its latest
// scrape).
func (t *Trace) At(at time.Duration) Sample {
	s := t.Samples[0]
	for _, x := range t.Samples {
		if x.At > at {
			break
		}
		s = x
	}
	return s
}

// Start and End are the times of the first and last samples.
func (t *Trace) Start() time.Duration { return t.Samples[0].At }

// End is the time of the last sample.
func (t *Trace) End() time.Duration { return t.Samples[len(t.Samples)-1].At }
