package explain

import (
	"strings"
	"testing"
	"time"
)

func TestParseTrace(t *testing.T) {
	tr, err := ParseTrace("t.csv", strings.NewReader("# comment\nseconds, cpu,memory\n0,50,40\n# another\n7.5,60.5,41\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != TraceUtilization || strings.Join(tr.Columns, ",") != "cpu,memory" || len(tr.Samples) != 2 || tr.HeaderLine != 2 {
		t.Fatalf("trace = %+v", tr)
	}
	if s := tr.Samples[1]; s.At != 7500*time.Millisecond || s.Values[0] != 60.5 || s.Line != 5 {
		t.Errorf("second sample = %+v", s)
	}
	if got := tr.At(7 * time.Second); got.Line != 3 {
		t.Errorf("At(7s) = line %d, want the held sample of line 3", got.Line)
	}
	replicas, err := ParseTrace("r.csv", strings.NewReader("seconds,replicas\n0,3\n"))
	if err != nil || replicas.Kind != TraceReplicas {
		t.Fatalf("replicas trace: %v %+v", err, replicas)
	}
}

func TestParseTraceErrorsNamePlace(t *testing.T) {
	tests := map[string]struct {
		in, want string
	}{
		"empty":              {"", "t.csv: empty trace"},
		"only comments":      {"# nothing\n", "t.csv: empty trace"},
		"no columns":         {"seconds\n0\n", "t.csv:1: header \"seconds\""},
		"first not seconds":  {"time,cpu\n0,1\n", "t.csv:1: column 1 (time): the first column must be seconds"},
		"duplicate column":   {"seconds,cpu,cpu\n", "t.csv:1: column 3 (cpu): duplicate column"},
		"empty column":       {"seconds,,cpu\n", "t.csv:1: column 2: empty column name"},
		"replicas and cpu":   {"seconds,cpu,replicas\n", "t.csv:1: column 3 (replicas): replicas gives the desired count directly"},
		"no samples":         {"seconds,cpu\n", "t.csv:1: no samples"},
		"field count":        {"seconds,cpu\n0,1\n15,2,3\n", "t.csv:3: 3 fields, but the header has 2 (seconds,cpu)"},
		"not a number":       {"seconds,cpu\n0,abc\n", "t.csv:2: column 2 (cpu): \"abc\" is not a number"},
		"negative":           {"seconds,cpu\n0,-1\n", "t.csv:2: column 2 (cpu): \"-1\" is negative"},
		"infinite":           {"seconds,cpu\n0,Inf\n", "t.csv:2: column 2 (cpu): \"Inf\" is not a finite number"},
		"time goes back":     {"seconds,cpu\n0,1\n30,1\n30,2\n", "t.csv:4: column 1 (seconds): 30 is not after the previous sample (line 3)"},
		"fractional replica": {"seconds,replicas\n0,2.5\n", "t.csv:2: column 2 (replicas): \"2.5\" is not a whole replica count"},
		"bad quoting":        {"seconds,cpu\n0,\"1\n", "t.csv:2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTrace("t.csv", strings.NewReader(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestReplayRejectsColumnsTheHPALacks(t *testing.T) {
	spec := scenarioSpec(2, 10, nil, cpu70)
	tr, err := ParseTrace("t.csv", strings.NewReader("# gpu\nseconds,gpu\n0,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Replay("x", spec, tr, ReplayOptions{})
	if want := `t.csv:2: column 2 (gpu): the HPA has no Resource metric "gpu" (it has cpu)`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want prefix %q", err, want)
	}
	two := scenarioSpec(2, 10, nil, cpu70, memory80)
	tr, _ = ParseTrace("t.csv", strings.NewReader("seconds,cpu\n0,1\n"))
	run, err := Replay("x", two, tr, ReplayOptions{})
	if err != nil || strings.Join(run.Ignored, ",") != "memory" {
		t.Errorf("ignored = %v, %v; want memory", run.Ignored, err)
	}
}

func TestSummarize(t *testing.T) {
	tr, _ := ParseTrace("t.csv", strings.NewReader("seconds,replicas\n0,8\n15,3\n30,8\n45,3\n60,3\n"))
	// No windows, no limits: 2 → 8 → 3 → 8 → 3 → 3, every change reverses.
	flappy := scenarioSpec(2, 10, &autoscalingv2Behavior0)
	run, err := Replay("x", flappy, tr, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := run.Summarize()
	// The metrics asked for more than there were at 0 s and 30 s.
	want := Summary{Syncs: 5, Rescales: 4, ScaleUps: 2, ScaleDowns: 2, Reversals: 3, PeakReplicas: 8,
		ReplicaMinutes: float64(8+3+8+3+3) / 4, AboveTargetMinutes: 0.5}
	if got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}

	// Utilization above the 70 % target: 90 % at 2 until the limit lets
	// the count follow (2 → 4 at 0 s reads 45 % at 15 s); 71 % at 60 s.
	tr, _ = ParseTrace("t.csv", strings.NewReader("seconds,cpu\n0,90\n15,90\n45,35.5\n60,71\n"))
	run, err = Replay("x", scenarioSpec(2, 10, &autoscalingv2Behavior0, cpu70), tr, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	above := 0
	for _, x := range run.Syncs {
		if x.Utilization[0] > 70 {
			above++
		}
	}
	if got := run.Summarize().AboveTargetMinutes; above == 0 || got != float64(above)/4 {
		t.Errorf("AboveTargetMinutes = %v with %d syncs above 70 %% in %+v", got, above, run.Syncs)
	}
}
