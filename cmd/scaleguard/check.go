package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// Exit codes of `scaleguard check`, a contract for CI pipelines.
const (
	exitOK     = 0
	exitDenied = 1
	exitUsage  = 2
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// checkWriter returns the writer of check's output format named by -o.
func checkWriter(format string) (func(manifests.Report, io.Writer) error, bool) {
	switch format {
	case "text":
		return manifests.Report.WriteText, true
	case "json":
		return manifests.Report.WriteJSON, true
	case "sarif":
		return writeSARIF, true
	case "github":
		return writeGitHub, true
	}
	return nil, false
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "manifest file, directory or - for stdin (repeatable)")
	output := fs.String("o", "text", "output format: text, json, sarif (SARIF 2.1.0, for code scanning) or github (GitHub Actions annotations)")
	fix := fs.Bool("fix", false, "print the manifests with every mutation applied (findings go to stderr)")
	configPath := fs.String("config", "", "settings file (default: the built-in standard); deprecated, see --standard")
	var standardFiles stringList
	fs.Var(&standardFiles, "standard", "file or directory of ClusterScalingStandards and ScalingStandards (repeatable): each object is judged with its namespace's effective standard, as serve judges it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard check -f FILE|DIR|- [-f …] [-o text|json|sarif|github] [--fix] [--config settings.yaml] [--standard FILE|DIR …] [FILE …]")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	write, known := checkWriter(*output)
	// Arguments after the flags are files too: pre-commit passes the files
	// a commit touches that way.
	files = append(files, fs.Args()...)
	if len(files) == 0 || !known {
		fs.Usage()
		return exitUsage
	}
	fail := usageError(stderr, "check")
	settings, err := loadSettings(*configPath)
	if err != nil {
		return fail(err)
	}
	docs, err := manifests.Load(files, stdin)
	if err != nil {
		return fail(err)
	}
	var report manifests.Report
	if len(standardFiles) > 0 {
		store, err := loadStandards(standardFiles, stdin, &settings, docs)
		if err != nil {
			return fail(err)
		}
		report, err = manifests.CheckWith(docs, store.Current(), store.For)
		if err != nil {
			return fail(err)
		}
	} else if report, err = manifests.Check(docs, &settings); err != nil {
		return fail(err)
	}
	findingsOut := stdout
	if *fix {
		if err := report.WriteFixed(stdout); err != nil {
			return fail(err)
		}
		findingsOut = stderr
	}
	if err := write(report, findingsOut); err != nil {
		return fail(err)
	}
	if report.Denied() {
		return exitDenied
	}
	return exitOK
}

// loadSettings reads a settings file, or returns the standard when path is
// empty.
func loadSettings(path string) (policies.Settings, error) {
	if path == "" {
		return policies.Defaults(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return policies.Settings{}, err
	}
	s, err := policies.ParseSettings(data)
	if err != nil {
		return policies.Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
