package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"text/tabwriter"

	"github.com/scaleguard/scaleguard/policies"
)

// jsonFinding is one line of `check -o json`; its keys are a public format.
type jsonFinding struct {
	Rule      string `json:"rule"`
	Action    string `json:"action"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Message   string `json:"message"`
	// File, Line and Column are where Path is written (Document.Position).
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Located yields every finding of the report with its document and where
// its field is written, in the report's order: the one walk that every
// output format (text, JSON, SARIF, GitHub) prints from. A document's
// positions are parsed once, and only when it has findings.
func (r Report) Located() iter.Seq2[*Result, LocatedFinding] {
	return func(yield func(*Result, LocatedFinding) bool) {
		for i := range r.Results {
			res := &r.Results[i]
			if len(res.Findings) == 0 {
				continue
			}
			at := res.Doc.Locate()
			for _, f := range res.Findings {
				if !yield(res, LocatedFinding{Finding: f, Position: at.Position(f.Path)}) {
					return
				}
			}
		}
	}
}

// LocatedFinding is a finding and the position of its field in the file.
type LocatedFinding struct {
	policies.Finding
	Position
}

// WriteJSON prints {"findings":[…]}.
func (r Report) WriteJSON(w io.Writer) error {
	out := struct {
		Findings []jsonFinding `json:"findings"`
	}{Findings: []jsonFinding{}}
	for res, f := range r.Located() {
		out.Findings = append(out.Findings, jsonFinding{
			Rule: f.Rule, Action: string(f.Action), Kind: res.Doc.Kind,
			Namespace: res.Doc.Namespace, Name: res.Doc.Name, Path: f.Path.String(), Message: f.Message,
			File: res.Doc.File, Line: f.Line, Column: f.Column,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText prints one line per finding, with the file:line:col of its
// field, and a summary.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for res, f := range r.Located() {
		fmt.Fprintf(tw, "%s:%d:%d\t%s\t%s %s\t[%s] %s: %s\n", res.Doc.File, f.Line, f.Column,
			f.Action, res.Doc.Kind, qualified(res.Doc.Namespace, res.Doc.Name), f.Rule, f.Path, f.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// Summary counts the objects checked and the findings by action.
func (r Report) Summary() string {
	counts := map[policies.Action]int{}
	objects := 0
	for _, res := range r.Results {
		if len(res.Findings) > 0 {
			objects++
		}
		for _, f := range res.Findings {
			counts[f.Action]++
		}
	}
	return fmt.Sprintf("%d objects checked: %d denied, %d warnings, %d mutations (%d with findings)",
		len(r.Results), counts[policies.Deny], counts[policies.Warn], counts[policies.Mutate], objects)
}

// WriteFixed prints every document, mutated where a rule mutates it and as
// written otherwise, separated by "---".
func (r Report) WriteFixed(w io.Writer) error {
	for i, res := range r.Results {
		doc := res.Doc.Raw
		if res.Fixed != nil {
			doc = res.Fixed
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		doc = bytes.TrimRight(doc, "\n")
		if _, err := w.Write(append(doc, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
