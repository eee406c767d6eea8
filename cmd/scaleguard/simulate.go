package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scaleguard/scaleguard/explain"
	"github.com/scaleguard/scaleguard/policies"
)

// Baselines `simulate --compare` replays the same trace against.
const (
	compareKubernetes = "kubernetes"
	compareLegacy     = "legacy"
)

// Series names, in charts, tables and the series column of -o csv.
const (
	seriesAdmitted   = "as admitted"
	seriesKubernetes = "Kubernetes default behavior"
	seriesLegacy     = "no behavior (legacy path)"
)

func runSimulate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "file, directory or - for stdin holding exactly one HPA; repeatable")
	tracePath := fs.String("trace", "", "metric trace `FILE`: CSV seconds,<metric>… (utilization %) or seconds,replicas; or the JSON of a Prometheus range query; or a Grafana CSV export")
	configPath := fs.String("config", "", "settings file (default: the built-in standard)")
	var standardFiles stringList
	fs.Var(&standardFiles, "standard", "file or directory of ClusterScalingStandards and ScalingStandards (repeatable): the HPA is judged with its namespace's effective standard, as serve judges it")
	syncPeriod := fs.Duration("sync-period", 0, "controller sync period (default: the settings' syncPeriodSeconds, 15s)")
	output := fs.String("o", "text", "output format: text, csv or json (csv and json print every sync; the chart then goes to stderr)")
	compare := fs.String("compare", "", "also replay with the behavior replaced: kubernetes (what the API server makes of behavior: {}) or legacy (no behavior); or replay a second HPA `FILE` on the same trace")
	plot := fs.String("plot", "", "also draw the chart to `FILE`, .svg or .png")
	width := fs.Int("width", defaultChartWidth, "width of the terminal chart in columns; 0 leaves it out")
	initial := fs.Int("initial-replicas", 0, "replica count before the first sync (default: minReplicas)")
	measuredAt := fs.Int("measured-at", 0, "replica count at which the trace's utilization was measured; the load is spread over the pods (default: minReplicas)")
	openLoop := fs.Bool("open-loop", false, "replay utilization as written whatever the replica count (the trace is what the controller measured)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard simulate -f hpa.yaml --trace load.csv [-o text|csv|json] [--compare kubernetes|legacy|other-hpa.yaml] [--plot chart.svg|chart.png] [--config settings.yaml] [--standard FILE …]")
		fmt.Fprintln(stderr, "Replays a metric trace through the HPA as the webhook would store it, one controller sync per sync period,")
		fmt.Fprintln(stderr, "holding the latest sample between samples, and prints the replicas over time.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	switch {
	case len(files) == 0 || *tracePath == "" || fs.NArg() > 0,
		*output != "text" && *output != "csv" && *output != "json",
		*plot != "" && plotFormat(*plot) == "",
		*syncPeriod != 0 && (*syncPeriod < time.Second || *syncPeriod > 10*time.Minute),
		*width < 0, *initial < 0, *measuredAt < 0, *initial > 1<<31-1, *measuredAt > 1<<31-1:
		fs.Usage()
		return exitUsage
	}
	fail := usageError(stderr, "simulate")
	settingsFor, hpas, err := loadHPAs(*configPath, standardFiles, files, stdin)
	if err != nil {
		return fail(err)
	}
	if len(hpas) != 1 {
		names := make([]string, len(hpas))
		for i, h := range hpas {
			names[i] = h.Name()
		}
		return fail(fmt.Errorf("simulate replays one HPA, and %s hold %d: %s", strings.Join(files, ", "), len(hpas), strings.Join(names, ", ")))
	}
	h := hpas[0]
	trace, err := readTrace(*tracePath)
	if err != nil {
		return fail(err)
	}

	opts := explain.ReplayOptions{Scaling: explain.ScalingOptions(settingsFor(h.Effective.Namespace)), InitialReplicas: int32(*initial),
		MeasuredAt: int32(*measuredAt), OpenLoop: *openLoop}
	if *syncPeriod != 0 {
		opts.Scaling.SyncPeriod = *syncPeriod
	}
	spec := h.Effective.Spec.DeepCopy()
	var other *explain.HPA
	name := seriesAdmitted
	if *compare != "" && *compare != compareKubernetes && *compare != compareLegacy {
		if other, err = loadComparedHPA(*configPath, standardFiles, *compare, stdin); err != nil {
			return fail(err)
		}
		name = fmt.Sprintf("%s %s", h.Name(), seriesAdmitted)
		if other.Name() == h.Name() {
			name = fmt.Sprintf("%s %s", strings.Join(files, ", "), seriesAdmitted)
		}
		// The same load for both: utilization as measured at the first
		// HPA's minReplicas unless --measured-at says otherwise.
		if opts.MeasuredAt <= 0 && spec.MinReplicas != nil {
			opts.MeasuredAt = *spec.MinReplicas
		}
	}
	run, err := explain.Replay(name, spec, trace, opts)
	if err != nil {
		return fail(err)
	}
	runs := []explain.Run{run}
	if other != nil {
		otherName := fmt.Sprintf("%s %s", other.Name(), seriesAdmitted)
		if other.Name() == h.Name() {
			otherName = fmt.Sprintf("%s %s", *compare, seriesAdmitted)
		}
		r, err := explain.Replay(otherName, other.Effective.Spec.DeepCopy(), trace, opts)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", *compare, err))
		}
		runs = append(runs, r)
	} else if *compare != "" {
		base, name := spec.DeepCopy(), seriesKubernetes
		base.Behavior = explain.KubernetesDefaultBehavior()
		if *compare == compareLegacy {
			base.Behavior, name = nil, seriesLegacy
		}
		r, err := explain.Replay(name, base, trace, opts)
		if err != nil {
			return fail(err)
		}
		runs = append(runs, r)
	}

	human := stdout
	switch *output {
	case "csv":
		err, human = explain.WriteCSV(stdout, runs), stderr
	case "json":
		err, human = explain.WriteJSON(stdout, runs), stderr
	}
	if err != nil {
		return fail(err)
	}
	notes(human, h, run, trace, opts)
	chart := explain.RunsChart(fmt.Sprintf("%s replayed through %s", trace.Source, h.Name()), runs)
	if *width > 0 {
		fmt.Fprintln(human)
		fmt.Fprint(human, chart.Text(*width))
	}
	if *output == "text" || *width > 0 {
		fmt.Fprintln(human)
		_ = explain.WriteSummaries(human, runs)
	}
	if *output == "text" {
		for _, r := range runs {
			fmt.Fprintln(human)
			_ = explain.WriteRescales(human, r)
		}
	}
	if *plot != "" {
		if err := writePlot(*plot, chart); err != nil {
			return fail(err)
		}
	}
	return exitOK
}

// loadComparedHPA reads --compare's HPA file: exactly one HPA, as the
// webhook would store it under the same settings and standards.
func loadComparedHPA(configPath string, standardFiles []string, path string, stdin io.Reader) (*explain.HPA, error) {
	if _, err := os.Stat(path); err != nil && path != "-" {
		return nil, fmt.Errorf("--compare %s: want kubernetes, legacy or a file holding one HPA: %w", path, err)
	}
	_, hpas, err := loadHPAs(configPath, standardFiles, []string{path}, stdin)
	if err != nil {
		return nil, err
	}
	if len(hpas) != 1 {
		return nil, fmt.Errorf("--compare replays one HPA, and %s holds %d", path, len(hpas))
	}
	return &hpas[0], nil
}

func readTrace(path string) (*explain.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return explain.ParseTrace(path, f)
}

// notes says how the trace was read and what the rules think of the HPA,
// so that nobody mistakes a replay of a refused HPA for a verdict.
func notes(w io.Writer, h explain.HPA, run explain.Run, trace *explain.Trace, o explain.ReplayOptions) {
	fmt.Fprintf(w, "Replaying %s (%d samples, %s to %s, each held until the next) through %s: one sync every %s, starting at %d replicas.\n",
		trace.Source, len(trace.Samples), explain.FormatDuration(trace.Start()), explain.FormatDuration(trace.End()),
		h.Name(), explain.FormatDuration(run.SyncPeriod), run.Syncs[0].Current)
	if trace.Kind == explain.TraceUtilization {
		if o.OpenLoop {
			fmt.Fprintf(w, "Utilization of %s replayed as written, whatever the replica count (open loop).\n", strings.Join(run.Columns, ", "))
		} else {
			at := o.MeasuredAt
			if at <= 0 {
				at = run.MinReplicas
			}
			fmt.Fprintf(w, "Utilization of %s as measured at %d replicas; at n replicas the same load reads %d/n times as much.\n",
				strings.Join(run.Columns, ", "), at, at)
		}
		if len(run.Ignored) > 0 {
			fmt.Fprintf(w, "Not in the trace, left out of the replay: %s.\n", strings.Join(run.Ignored, ", "))
		}
	}
	denied, warned := len(h.Findings.With(policies.Deny)), len(h.Findings.With(policies.Warn))
	if denied+warned > 0 {
		fmt.Fprintf(w, "The webhook would deny this HPA %d times and warn %d times; `scaleguard explain` says why.\n", denied, warned)
	}
}
