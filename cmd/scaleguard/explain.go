package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/scaleguard/scaleguard/explain"
)

// defaultChartWidth fits a terminal of 80 columns with room to spare.
const defaultChartWidth = 72

func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "file, directory or - for stdin with the HPA (and, optionally, its scale target); repeatable")
	configPath := fs.String("config", "", "settings file (default: the built-in standard)")
	var standardFiles stringList
	fs.Var(&standardFiles, "standard", "file or directory of ClusterScalingStandards and ScalingStandards (repeatable): the HPA is judged with its namespace's effective standard, as serve judges it")
	plot := fs.String("plot", "", "also draw the chart to `FILE`, .svg or .png (needs exactly one HPA)")
	width := fs.Int("width", defaultChartWidth, "width of the terminal chart in columns; 0 leaves it out")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard explain -f hpa.yaml [-f workload.yaml] [--plot chart.svg|chart.png] [--width 72] [--config settings.yaml] [--standard FILE …]")
		fmt.Fprintln(stderr, "Prints each HPA as the webhook would store it, its fastest paths between minReplicas and maxReplicas")
		fmt.Fprintln(stderr, "step by step, a chart of them, and every finding. Exit code 1 when something is denied.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if len(files) == 0 || fs.NArg() > 0 || *width < 0 || (*plot != "" && plotFormat(*plot) == "") {
		fs.Usage()
		return exitUsage
	}
	fail := usageError(stderr, "explain")
	settingsFor, hpas, err := loadHPAs(*configPath, standardFiles, files, stdin)
	if err != nil {
		return fail(err)
	}
	switch {
	case len(hpas) == 0:
		return fail(fmt.Errorf("no HorizontalPodAutoscaler in %s", strings.Join(files, ", ")))
	case len(hpas) > 1 && *plot != "":
		return fail(fmt.Errorf("--plot draws one HPA, and %s hold %d; give the one to draw", strings.Join(files, ", "), len(hpas)))
	}
	code := exitOK
	for i, h := range hpas {
		if i > 0 {
			fmt.Fprintln(stdout, "\n---")
		}
		e := explain.Explain(h, settingsFor(h.Effective.Namespace))
		if err := e.WriteText(stdout, *width); err != nil {
			return fail(err)
		}
		if *plot != "" {
			if err := writePlot(*plot, e.Chart()); err != nil {
				return fail(err)
			}
		}
		if h.Denied() {
			code = exitDenied
		}
	}
	return code
}

// plotFormat is the image format a --plot file name asks for, or "".
func plotFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return "svg"
	case ".png":
		return "png"
	}
	return ""
}

// writePlot draws c to path as SVG or PNG, by its extension.
func writePlot(path string, c explain.Chart) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if plotFormat(path) == "png" {
		return c.PNG(f)
	}
	return c.SVG(f)
}
