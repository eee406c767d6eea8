package main

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// projectURI is scaleguard's home; rulesDocURI the rule catalogue, whose
// headings are the rule IDs, so GitHub's anchor for a rule is its ID.
const (
	projectURI  = "https://github.com/scaleguard/scaleguard"
	rulesDocURI = projectURI + "/blob/main/docs/rules.md"
)

// sarifLevel is a finding's SARIF level. deny refuses the write (and fails
// check), so it is an error; warn admits it with a warning; a mutation is
// made by scaleguard itself and asks nothing of the author, so it is a
// note. off never produces a finding.
func sarifLevel(a policies.Action) string {
	switch a {
	case policies.Deny:
		return sarif.LevelError
	case policies.Warn:
		return sarif.LevelWarning
	default:
		return sarif.LevelNote
	}
}

// writeSARIF prints the report as a SARIF 2.1.0 log: one run, a rule for
// every rule of the catalogue, a result for every finding at the line and
// column of its field.
func writeSARIF(r manifests.Report, w io.Writer) error {
	log := report.NewV210Report()
	run := sarif.NewRunWithInformationURI("scaleguard", projectURI)
	run.Tool.Driver.WithVersion(version)
	for _, rule := range policies.Catalogue() {
		addSARIFRule(run, rule)
	}
	for res, f := range r.Located() {
		uri := artifactURI(res.Doc.File)
		run.AddDistinctArtifact(uri)
		loc := sarif.NewArtifactLocation().WithURI(uri).WithIndex(artifactIndex(run, uri))
		run.CreateResultForRule(f.Rule).
			WithLevel(sarifLevel(f.Action)).
			WithMessage(sarif.NewTextMessage(fmt.Sprintf("%s %s: %s: %s", res.Doc.Kind, objectName(res.Doc), f.Path, f.Message))).
			AddLocation(sarif.NewLocationWithPhysicalLocation(sarif.NewPhysicalLocation().
				WithArtifactLocation(loc).
				WithRegion(sarif.NewRegion().WithStartLine(f.Line).WithStartColumn(f.Column))))
	}
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// addSARIFRule describes a rule of the catalogue: its summary, the actions
// it can be set to, and its section of docs/rules.md.
func addSARIFRule(run *sarif.Run, rule policies.RuleInfo) {
	doc := rulesDocURI + "#" + rule.Anchor()
	actions := make([]string, len(rule.Actions))
	for i, a := range rule.Actions {
		actions[i] = string(a)
	}
	text := fmt.Sprintf("%s. Checks %s; actions %s (default %s). See %s",
		rule.Summary, strings.Join(rule.Kinds, ", "), strings.Join(actions, ", "), rule.Default(), doc)
	markdown := fmt.Sprintf("%s.\n\nChecks %s. Actions: %s (default `%s`).\n\n[docs/rules.md#%s](%s)",
		rule.Summary, strings.Join(rule.Kinds, ", "), "`"+strings.Join(actions, "`, `")+"`", rule.Default(), rule.Anchor(), doc)
	config := sarif.NewReportingConfiguration().WithLevel(sarifLevel(rule.Default()))
	if rule.Default() == policies.Off {
		config.WithEnabled(false)
	}
	run.AddRule(rule.ID).
		WithName(rule.ID).
		WithDescription(rule.Summary).
		WithFullDescription(sarif.NewMultiformatMessageString().WithText(text)).
		WithHelp(sarif.NewMultiformatMessageString().WithText(text).WithMarkdown(markdown)).
		WithHelpURI(doc).
		WithDefaultConfiguration(config)
}

// artifactURI writes a file name as a URI reference: a relative path stays
// relative (code scanning resolves it against the repository's root), an
// absolute one becomes a file URI, and stdin keeps its name "-".
func artifactURI(file string) string {
	if file == manifests.Stdin {
		return file
	}
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(file)}).String()
	}
	return (&url.URL{Path: filepath.ToSlash(filepath.Clean(file))}).String()
}

func artifactIndex(run *sarif.Run, uri string) int {
	for i, a := range run.Artifacts {
		if a.Location != nil && a.Location.URI != nil && *a.Location.URI == uri {
			return i
		}
	}
	return -1
}

// objectName is namespace/name, or name when the object has no namespace.
func objectName(d manifests.Document) string {
	if d.Namespace == "" {
		return d.Name
	}
	return d.Namespace + "/" + d.Name
}
