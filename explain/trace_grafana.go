package explain

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// A Grafana CSV export (panel → Inspect → Data → Download CSV) is what
// @grafana/data's toCSV writes: an optional `sep=<delimiter>` line (the
// "Download for Excel" option), a header of quoted field names starting
// with the time field, CRLF line ends, empty cells for missing values. With
// "Formatted data" on, times read like 2024-05-01 14:00:00 in the browser's
// time zone and values carry their unit (45.2%); off, times are epoch
// milliseconds and values bare numbers. Series must be joined by time (one
// table); the metric columns are named by the panel's legend (cpu, memory).

var grafanaTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.000", time.RFC3339Nano}

// isGrafanaCSV reports whether data starts like a Grafana export: a sep=
// line, or a header whose first field is "Time", quoted as toCSV always
// quotes header names (an unquoted time,cpu is a mistyped seconds,cpu).
func isGrafanaCSV(data []byte) bool {
	first, _, _ := bytes.Cut(bytes.TrimPrefix(data, []byte("\ufeff")), []byte("\n"))
	first = bytes.TrimSpace(first)
	if bytes.HasPrefix(first, []byte("sep=")) {
		return true
	}
	return bytes.HasPrefix(first, []byte(`"Time"`))
}

func parseGrafanaTrace(source string, data []byte) (*Trace, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	delimiter, lineOffset := ',', 0
	if first, rest, ok := bytes.Cut(data, []byte("\n")); ok && bytes.HasPrefix(first, []byte("sep=")) {
		sep := []rune(strings.TrimSpace(strings.TrimPrefix(string(first), "sep=")))
		if len(sep) != 1 {
			return nil, &TraceError{Source: source, Line: 1, Err: fmt.Errorf("%q: want one delimiter character", first)}
		}
		delimiter, data, lineOffset = sep[0], rest, 1
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delimiter
	cr.FieldsPerRecord = -1
	fail := func(line, col int, name, format string, args ...any) error {
		return &TraceError{Source: source, Line: line + lineOffset, Column: col, Name: name, Err: fmt.Errorf(format, args...)}
	}
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(source, err)
	}
	headerLine, _ := cr.FieldPos(0)
	if len(header) < 2 {
		return nil, fail(headerLine, 0, "", "header %q: want Time and at least one series, named by the panel's legend (cpu, memory)", strings.Join(header, string(delimiter)))
	}
	all := make([]series, len(header)-1)
	for i, h := range header[1:] {
		all[i].name = strings.TrimSpace(h)
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
			return nil, fail(line, 0, "", "%d fields, but the header has %d; export with \"Series joined by time\"", len(record), len(header))
		}
		at, err := grafanaTime(record[0])
		if err != nil {
			return nil, fail(line, 1, header[0], "%v", err)
		}
		for i, field := range record[1:] {
			field = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(field), "%"))
			if field == "" {
				continue // no value at this time: the previous one holds
			}
			v, err := strconv.ParseFloat(field, 64)
			if err != nil {
				return nil, fail(line, i+2, all[i].name, "%q is not a number (a unit other than %% in formatted data? export with \"Formatted data\" off)", record[i+1])
			}
			all[i].points = append(all[i].points, point{at: at, value: v, line: line + lineOffset})
		}
	}
	return traceFromSeries(source, headerLine+lineOffset, all)
}

// grafanaTime reads the time column: epoch milliseconds, or a formatted
// time. Formatted times carry no zone; only differences matter here.
func grafanaTime(field string) (time.Time, error) {
	field = strings.TrimSpace(field)
	if ms, err := strconv.ParseInt(field, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	for _, layout := range grafanaTimeLayouts {
		if t, err := time.Parse(layout, field); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither epoch milliseconds nor a time like 2006-01-02 15:04:05", field)
}
