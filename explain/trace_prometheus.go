package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
)

// Labels that name a series' column, in order of preference: `metric` as
// a query sets it with label_replace, `resource` as kube-state-metrics and
// the resource metrics carry it.
var prometheusNameLabels = []model.LabelName{"metric", "resource"}

// isPrometheusJSON reports whether data looks like an HTTP API response
// (a JSON object).
func isPrometheusJSON(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
}

// parsePrometheusTrace reads the response of /api/v1/query_range: status
// success, a matrix result, one series per metric named by its `metric`
// (or `resource`) label. The samples are decoded by Prometheus's own
// model.Matrix.
func parsePrometheusTrace(source string, data []byte) (*Trace, error) {
	var resp struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	fail := func(format string, args ...any) error {
		return &TraceError{Source: source, Err: fmt.Errorf(format, args...)}
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fail("not a Prometheus query response: %v", err)
	}
	switch {
	case resp.Status != "success":
		return nil, fail("the query failed (status %q, %s: %s)", resp.Status, resp.ErrorType, resp.Error)
	case resp.Data.ResultType != model.ValMatrix.String():
		return nil, fail("result type %q: want a range query's matrix (/api/v1/query_range)", resp.Data.ResultType)
	}
	var matrix model.Matrix
	if err := json.Unmarshal(resp.Data.Result, &matrix); err != nil {
		return nil, fail("matrix: %v", err)
	}
	all := make([]series, len(matrix))
	for i, stream := range matrix {
		name := ""
		for _, l := range prometheusNameLabels {
			if v, ok := stream.Metric[l]; ok {
				name = string(v)
				break
			}
		}
		if name == "" {
			return nil, fail("series %d %s has no metric or resource label naming the HPA metric it measures; add one to the query, e.g. label_replace(<query>, \"metric\", \"cpu\", \"\", \"\")", i+1, stream.Metric)
		}
		all[i].name = name
		for _, p := range stream.Values {
			all[i].points = append(all[i].points, point{at: p.Timestamp.Time(), value: float64(p.Value)})
		}
	}
	// The API returns series in no particular order; columns follow names.
	sort.SliceStable(all, func(a, b int) bool { return strings.Compare(all[a].name, all[b].name) < 0 })
	return traceFromSeries(source, 0, all)
}
