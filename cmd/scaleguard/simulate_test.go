package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated parts of docs/arithmetic.md")

func TestSimulate(t *testing.T) {
	dir := t.TempDir()
	badTrace := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badTrace, []byte("seconds,cpu\n0,50\n15,lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gpuTrace := filepath.Join(dir, "gpu.csv")
	if err := os.WriteFile(gpuTrace, []byte("seconds,gpu\n0,50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hpa, spike := "../../examples/traces/hpa.yaml", "../../examples/traces/spike.csv"
	tests := map[string]cliCase{
		"text": {args: []string{"-f", hpa, "--trace", spike}, code: 0, stdout: []string{
			"Replaying ../../examples/traces/spike.csv (4 samples, 0 to 40m, each held until the next) through demo/web: one sync every 15s, starting at 2 replicas.",
			"as admitted", "6m     8 → 15       15          15  DesiredWithinRange",
		}},
		"compare": {args: []string{"-f", hpa, "--trace", spike, "--compare", "kubernetes"}, code: 0, stdout: []string{
			"━━ as admitted", "── Kubernetes default behavior", "5m      2 → 6       15          15  ScaleUpLimit",
		}},
		"legacy": {args: []string{"-f", hpa, "--trace", spike, "--compare", "legacy"}, code: 0, stdout: []string{"no behavior (legacy path)"}},
		"csv to stdout, chart to stderr": {args: []string{"-f", hpa, "--trace", spike, "-o", "csv"}, code: 0,
			stdout: []string{"series,seconds,cpu,memory,current_replicas,metric_replicas,stabilized_replicas,replicas,stabilization,reason\nas admitted,0,50,40,2,2,2,2,ReadyForNewScale,DesiredWithinRange\n"},
			stderr: []string{"max 20 ┤", "replica-minutes"}},
		"sync period": {args: []string{"-f", hpa, "--trace", spike, "-o", "csv", "--sync-period", "30s", "--width", "0"}, code: 0,
			stdout: []string{"as admitted,30,50,"}},
		"bad trace names line and column": {args: []string{"-f", hpa, "--trace", badTrace}, code: 2, stderr: []string{"bad.csv:3: column 2 (cpu): \"lots\" is not a number"}},
		"unknown metric":                  {args: []string{"-f", hpa, "--trace", gpuTrace}, code: 2, stderr: []string{"gpu.csv:1: column 2 (gpu): the HPA has no Resource metric \"gpu\" (it has cpu, memory)"}},
		"two hpas":                        {args: []string{"-f", "../../examples/traces", "--trace", spike}, code: 2, stderr: []string{"simulate replays one HPA, and ../../examples/traces hold 2: demo/web-flappy, demo/web"}},
		"no trace":                        {args: []string{"-f", hpa}, code: 2, stderr: []string{"usage: scaleguard simulate"}},
		"bad compare":                     {args: []string{"-f", hpa, "--trace", spike, "--compare", "gke"}, code: 2, stderr: []string{"--compare gke: want kubernetes, legacy or a file holding one HPA"}},
		"compare a second HPA": {args: []string{"-f", hpa, "--trace", spike, "--compare", "../../examples/traces/hpa-flappy.yaml"}, code: 0, stdout: []string{
			"━━ demo/web as admitted", "── demo/web-flappy as admitted", "above-target-minutes",
			"Rescales of demo/web-flappy as admitted:",
		}},
		"compare a second HPA, csv": {args: []string{"-f", hpa, "--trace", spike, "--compare", "../../examples/traces/hpa-flappy.yaml", "-o", "csv", "--width", "0"}, code: 0,
			stdout: []string{"\ndemo/web as admitted,0,50,40,2,", "\ndemo/web-flappy as admitted,0,50,"}},
		"compare the same HPA":     {args: []string{"-f", hpa, "--trace", spike, "--compare", hpa, "--width", "0"}, code: 0, stdout: []string{"../../examples/traces/hpa.yaml as admitted"}},
		"compare two HPAs at once": {args: []string{"-f", hpa, "--trace", spike, "--compare", "../../examples/traces"}, code: 2, stderr: []string{"--compare replays one HPA, and ../../examples/traces holds 2"}},
		"bad sync period":          {args: []string{"-f", hpa, "--trace", spike, "--sync-period", "1ms"}, code: 2},
	}
	runCases(t, "simulate", tests)
}

func TestSimulateCSVAndJSONAgree(t *testing.T) {
	args := []string{"simulate", "-f", "../../examples/traces/hpa.yaml", "--trace", "../../examples/traces/daily-cycle.csv", "--compare", "kubernetes", "--width", "0"}
	var csvOut, jsonOut, stderr bytes.Buffer
	if code := run(append(args, "-o", "csv"), nil, &csvOut, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if code := run(append(args, "-o", "json"), nil, &jsonOut, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Series []struct {
			Name  string
			Syncs []struct{ Replicas int32 }
		}
	}
	if err := json.Unmarshal(jsonOut.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Series) != 2 || len(rows)-1 != len(out.Series[0].Syncs)+len(out.Series[1].Syncs) {
		t.Fatalf("%d csv rows, json series %d", len(rows), len(out.Series))
	}
	i := 1
	for _, s := range out.Series {
		for _, sync := range s.Syncs {
			if rows[i][0] != s.Name || rows[i][7] != fmt.Sprint(sync.Replicas) {
				t.Fatalf("row %d %v disagrees with json %s %d", i, rows[i], s.Name, sync.Replicas)
			}
			i++
		}
	}
}

func TestSimulatePlots(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"c.svg", "c.png"} {
		var stdout, stderr bytes.Buffer
		p := filepath.Join(dir, name)
		if code := run([]string{"simulate", "-f", "../../examples/traces/hpa.yaml", "--trace", "../../examples/traces/spike.csv",
			"--compare", "kubernetes", "--plot", p}, nil, &stdout, &stderr); code != 0 {
			t.Fatal(stderr.String())
		}
	}
	checkSVG(t, filepath.Join(dir, "c.svg"))
	checkPNG(t, filepath.Join(dir, "c.png"))
}

// docRun is one generated row group of docs/arithmetic.md.
type docRun struct {
	trace, hpa string
	compare    bool
}

var docRuns = []docRun{
	{"spike.csv", "hpa.yaml", true},
	{"daily-cycle.csv", "hpa.yaml", true},
	{"noisy-plateau.csv", "hpa.yaml", true},
	{"noisy-plateau.csv", "hpa-flappy.yaml", false},
}

// TestArithmeticDocIsCurrent regenerates the numbers and the explain excerpt
// in docs/arithmetic.md with the real commands and fails when the file
// differs; `go test ./cmd/scaleguard -run TestArithmeticDoc -update`
// rewrites it.
func TestArithmeticDocIsCurrent(t *testing.T) {
	const path = "../../docs/arithmetic.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(doc)
	got = replaceGenerated(t, got, "simulate-comparison", comparisonTable(t))
	got = replaceGenerated(t, got, "explain-paths", explainPaths(t))
	if got == string(doc) {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/arithmetic.md is stale; run go test ./cmd/scaleguard -run TestArithmeticDoc -update")
}

func replaceGenerated(t *testing.T, doc, name, content string) string {
	t.Helper()
	begin, end := "<!-- generated: "+name+" -->\n", "<!-- end: "+name+" -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/arithmetic.md lacks the markers %q … %q", begin, end)
	}
	return doc[:i+len(begin)] + content + doc[j:]
}

func comparisonTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("| trace | HPA | behavior | rescales (up / down) | reversals | peak | replica-minutes | minutes short |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range docRuns {
		args := []string{"simulate", "-f", "../../examples/traces/" + r.hpa, "--trace", "../../examples/traces/" + r.trace, "-o", "json", "--width", "0"}
		if r.compare {
			args = append(args, "--compare", "kubernetes")
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: %s", args, stderr.String())
		}
		var out struct {
			Series []struct {
				Name    string
				Summary struct {
					Rescales, ScaleUps, ScaleDowns, Reversals int
					PeakReplicas                              int32
					ReplicaMinutes, ShortMinutes              float64
				}
			}
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Series {
			m := s.Summary
			fmt.Fprintf(&b, "| %s | %s | %s | %d (%d / %d) | %d | %d | %.1f | %.1f |\n", r.trace, r.hpa, s.Name,
				m.Rescales, m.ScaleUps, m.ScaleDowns, m.Reversals, m.PeakReplicas, m.ReplicaMinutes, m.ShortMinutes)
		}
	}
	return b.String()
}

// explainPaths is the path part of `scaleguard explain -f
// examples/traces/hpa.yaml`, as the docs quote it.
func explainPaths(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "-f", "../../examples/traces/hpa.yaml"}, nil, &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	out := strings.ReplaceAll(stdout.String(), "../../examples/", "examples/")
	i, j := strings.Index(out, "Scale up from"), strings.Index(out, "Findings on the HPA")
	return "```\n$ scaleguard explain -f examples/traces/hpa.yaml\n…\n" + strings.TrimRight(out[i:j], "\n") + "\n```\n"
}

// Last week's load exported from Prometheus or Grafana replays exactly as
// the same numbers written by hand: the same table, CSV and summary.
func TestSimulateReadsMonitoringExports(t *testing.T) {
	dir := "../../explain/testdata/exports/"
	replay := func(trace, format string) string {
		var stdout, stderr bytes.Buffer
		args := []string{"simulate", "-f", "../../examples/traces/hpa.yaml", "--trace", dir + trace, "-o", format, "--width", "0"}
		if code := run(args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", trace, code, stderr.String())
		}
		// The first line names the file; everything after it must match.
		return strings.ReplaceAll(stdout.String(), dir+trace, "TRACE")
	}
	for _, format := range []string{"text", "csv"} {
		want := replay("load.csv", format)
		if !strings.Contains(want, "ScaleUpLimit") {
			t.Fatalf("the hand-written trace does not scale up at the limit:\n%s", want)
		}
		for _, trace := range []string{"prometheus-query-range.json", "grafana-export.csv", "grafana-export-raw.csv"} {
			if got := replay(trace, format); got != want {
				t.Errorf("-o %s: %s gives\n%s\nload.csv gives\n%s", format, trace, got, want)
			}
		}
	}
}
