package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// palette colours the report; the zero value prints plain text.
type palette struct{ on bool }

// colourFor colours f's output only on a terminal, and never when NO_COLOR
// is set (https://no-color.org).
func colourFor(f *os.File) palette {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	fi, err := f.Stat()
	return palette{on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p palette) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

func (p palette) bold(s string) string   { return p.paint("1", s) }
func (p palette) dim(s string) string    { return p.paint("2", s) }
func (p palette) red(s string) string    { return p.paint("31", s) }
func (p palette) green(s string) string  { return p.paint("32", s) }
func (p palette) yellow(s string) string { return p.paint("33", s) }
func (p palette) cyan(s string) string   { return p.paint("36", s) }

// group is one heading of the report, in the order printed.
type group struct {
	outcome outcome
	title   string
	colour  func(palette, string) string
}

// groups lists the headings, worst first.
func groups() []group {
	return []group{
		{refused, "REFUSED — not stored; the API server answered", palette.red},
		{patched, "PATCHED — stored with scaleguard's changes", palette.cyan},
		{warned, "WARNINGS — stored as written, with warnings", palette.yellow},
		{admitted, "ADMITTED as written", palette.green},
	}
}

// printReport prints the results grouped by outcome, then a summary line.
func printReport(w io.Writer, results []result, p palette) {
	count := map[outcome]int{}
	for _, r := range results {
		count[r.Outcome]++
	}
	for _, g := range groups() {
		if count[g.outcome] == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", p.bold(g.colour(p, fmt.Sprintf("%s (%d)", g.title, count[g.outcome]))))
		for _, r := range results {
			if r.Outcome != g.outcome {
				continue
			}
			fmt.Fprintf(w, "  %s  %s\n", g.colour(p, objectName(r)), p.dim(r.File))
			for line := range strings.Lines(splitFindings(r.Message)) {
				fmt.Fprintf(w, "      %s\n", strings.TrimRight(line, "\n"))
			}
			for _, warning := range r.Warnings {
				fmt.Fprintf(w, "      %s %s\n", p.yellow("Warning:"), warning)
			}
			if r.Diff != "" {
				for line := range strings.Lines(r.Diff) {
					fmt.Fprintf(w, "      %s\n", diffLine(p, strings.TrimRight(line, "\n")))
				}
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", p.bold(summary(results, count)))
}

// findingStart matches where scaleguard's refusal lists a finding:
// "…: [rule-id] path: message; [rule-id] …".
var findingStart = regexp.MustCompile(`([:;]) (\[[a-z0-9]+(-[a-z0-9]+)*\] )`)

// splitFindings puts each finding of a refusal on its own indented line;
// the API server's message is one line however many rules refused.
func splitFindings(msg string) string {
	return findingStart.ReplaceAllString(msg, "${1}\n    ${2}")
}

func objectName(r result) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func diffLine(p palette, line string) string {
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
		return p.bold(line)
	case strings.HasPrefix(line, "@@"):
		return p.cyan(line)
	case strings.HasPrefix(line, "+"):
		return p.green(line)
	case strings.HasPrefix(line, "-"):
		return p.red(line)
	}
	return line
}

func summary(results []result, count map[outcome]int) string {
	files := map[string]bool{}
	for _, r := range results {
		files[r.File] = true
	}
	return fmt.Sprintf("%d objects from %d files: %d refused, %d patched, %d with warnings, %d admitted as written",
		len(results), len(files), count[refused], count[patched], count[warned], count[admitted])
}
