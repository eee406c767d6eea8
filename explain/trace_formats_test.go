package explain

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The same ten minutes of load as scaleguard's CSV, as the JSON of a
// Prometheus range query, and as Grafana CSV exports with formatted data
// and raw: all four must give the same trace.
func TestTraceFormatsAgree(t *testing.T) {
	read := func(name string) *Trace {
		f, err := os.Open("testdata/exports/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tr, err := ParseTrace(name, f)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	want := read("load.csv")
	if len(want.Samples) != 11 || want.End() != 10*time.Minute || strings.Join(want.Columns, ",") != "cpu,memory" {
		t.Fatalf("load.csv read as %+v", want)
	}
	for _, name := range []string{"prometheus-query-range.json", "grafana-export.csv", "grafana-export-raw.csv"} {
		got := read(name)
		if got.Kind != want.Kind || !reflect.DeepEqual(got.Columns, want.Columns) || len(got.Samples) != len(want.Samples) {
			t.Errorf("%s: %s %v with %d samples, want %s %v with %d", name, got.Kind, got.Columns, len(got.Samples), want.Kind, want.Columns, len(want.Samples))
			continue
		}
		for i, s := range got.Samples {
			if w := want.Samples[i]; s.At != w.At || !reflect.DeepEqual(s.Values, w.Values) {
				t.Errorf("%s: sample %d is %s %v, want %s %v", name, i, s.At, s.Values, w.At, w.Values)
			}
		}
	}
}

func TestPrometheusTrace(t *testing.T) {
	tests := map[string]struct {
		in, want string
		columns  string
		samples  int
	}{
		"resource label names the column, later start wins": {
			in:      `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"resource":"cpu"},"values":[[100,"50"],[160,"60"]]},{"metric":{"resource":"memory"},"values":[[130,"40"]]}]}}`,
			columns: "cpu,memory", samples: 2,
		},
		"replicas series":     {in: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"metric":"replicas"},"values":[[0,"3"],[15,"4"]]}]}}`, columns: "replicas", samples: 2},
		"unnamed series":      {in: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[0,"1"]]}]}}`, want: `p.json: series 1 up has no metric or resource label`},
		"instant query":       {in: `{"status":"success","data":{"resultType":"vector","result":[]}}`, want: `p.json: result type "vector": want a range query's matrix`},
		"failed query":        {in: `{"status":"error","errorType":"bad_data","error":"parse error"}`, want: `p.json: the query failed (status "error", bad_data: parse error)`},
		"NaN value":           {in: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"metric":"cpu"},"values":[[0,"NaN"]]}]}}`, want: "p.json: column 2 (cpu): NaN at 1970-01-01T00:00:00Z is not a finite, non-negative number"},
		"fractional replicas": {in: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"metric":"replicas"},"values":[[0,"2.5"]]}]}}`, want: "is not a whole replica count"},
		"not JSON":            {in: `{"status":`, want: "p.json: not a Prometheus query response"},
	}
	for name, tc := range tests {
		tr, err := ParseTrace("p.json", strings.NewReader(tc.in))
		switch {
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want == "" && (strings.Join(tr.Columns, ",") != tc.columns || len(tr.Samples) != tc.samples):
			t.Errorf("%s: columns %v, %d samples; want %s, %d", name, tr.Columns, len(tr.Samples), tc.columns, tc.samples)
		}
	}
}

func TestGrafanaTrace(t *testing.T) {
	tests := map[string]struct {
		in, want string
		samples  int
		last     []float64
	}{
		"missing cell holds the previous value": {
			in: "\"Time\",\"cpu\",\"memory\"\r\n2024-05-01 16:00:00,50%,40%\r\n2024-05-01 16:00:30,70%,\r\n\r\n", samples: 2, last: []float64{70, 40}},
		"byte order mark and milliseconds": {in: "\ufeff\"Time\",\"cpu\"\n1714572000000,50\n1714572000500,51\n", samples: 2, last: []float64{51}},
		"other unit":                       {in: "\"Time\",\"cpu\"\n2024-05-01 16:00:00,50 ms\n", want: `g.csv:2: column 2 (cpu): "50 ms" is not a number`},
		"bad time":                         {in: "\"Time\",\"cpu\"\nyesterday,50\n", want: `g.csv:2: column 1 (Time): "yesterday" is neither epoch milliseconds`},
		"series not joined":                {in: "\"Time\",\"cpu\"\n2024-05-01 16:00:00,50,1\n", want: `g.csv:2: 3 fields, but the header has 2; export with "Series joined by time"`},
		"bad sep line":                     {in: "sep=;;\n\"Time\";\"cpu\"\n", want: "g.csv:1: "},
		"no series":                        {in: "\"Time\"\n", want: "g.csv:1: header"},
	}
	for name, tc := range tests {
		tr, err := ParseTrace("g.csv", strings.NewReader(tc.in))
		switch {
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want prefix %q", name, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want == "" && (len(tr.Samples) != tc.samples || !reflect.DeepEqual(tr.Samples[len(tr.Samples)-1].Values, tc.last)):
			t.Errorf("%s: %d samples, last %v; want %d, %v", name, len(tr.Samples), tr.Samples[len(tr.Samples)-1].Values, tc.samples, tc.last)
		}
	}
}
