package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scaleguard/scaleguard/internal/ruletable"
	"github.com/scaleguard/scaleguard/policies"
)

// sarifLog is what the tests read of a SARIF log.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name  string
				Rules []struct {
					ID               string
					HelpURI          string
					ShortDescription struct{ Text string }
					Help             struct{ Text, Markdown string }
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex int
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string }
					Region           struct{ StartLine, StartColumn int }
				}
			}
		}
	}
}

// jsonOut is what the tests read of `check -o json`.
type jsonOut struct {
	Findings []struct {
		Rule, Action, Path, Message, File string
		Line, Column                      int
	}
}

// checkAs runs check with args in format, which must end in exit 0 or 1.
func checkAs(t *testing.T, format string, args []string, stdin []byte) ([]byte, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"check", "-o", format}, args...), bytes.NewReader(stdin), &stdout, &stderr)
	if code != exitOK && code != exitDenied {
		t.Fatalf("check -o %s %v: exit %d: %s", format, args, code, stderr.String())
	}
	return stdout.Bytes(), code
}

// sarifInputs are check's arguments for every example and every rule-table
// case (with its group's settings file), by name.
func sarifInputs(t *testing.T) map[string][]string {
	t.Helper()
	inputs := map[string][]string{}
	err := filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			inputs[path] = []string{"-f", path}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", ruletable.Dir)
	groups, err := ruletable.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		for _, c := range g.Cases {
			args := []string{"-f", c.Source}
			if g.SettingsFile != "" {
				args = append(args, "--config", filepath.Join(dir, g.Name, "settings.yaml"))
			}
			inputs[c.Source] = args
		}
	}
	return inputs
}

// TestSARIFIsValidAndMatchesJSON: for every example and every rule-table
// case, -o sarif passes the SARIF 2.1.0 schema (go-sarif's copy, checked by
// a JSON-schema validator) and holds one result per finding of -o json: the
// same rule, the level of its action, the same file, line and column.
func TestSARIFIsValidAndMatchesJSON(t *testing.T) {
	sch := sarifSchema(t)
	inputs := sarifInputs(t)
	if len(inputs) < 50 {
		t.Fatalf("only %d inputs: the examples and the rule table were not found", len(inputs))
	}
	results := 0
	for name, args := range inputs {
		log, code := checkAs(t, "sarif", args, nil)
		js, jsCode := checkAs(t, "json", args, nil)
		if code != jsCode {
			t.Errorf("%s: exit %d with -o sarif, %d with -o json", name, code, jsCode)
		}
		validateSARIF(t, sch, name, log)
		var got sarifLog
		var want jsonOut
		if err := json.Unmarshal(log, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatal(err)
		}
		if len(got.Runs) != 1 || len(got.Runs[0].Results) != len(want.Findings) {
			t.Errorf("%s: %d runs, want 1 with %d results", name, len(got.Runs), len(want.Findings))
			continue
		}
		run := got.Runs[0]
		for i, f := range want.Findings {
			r := run.Results[i]
			results++
			if r.RuleID != f.Rule || r.RuleIndex < 0 || run.Tool.Driver.Rules[r.RuleIndex].ID != f.Rule {
				t.Errorf("%s: result %d is rule %s (index %d), the finding %s", name, i, r.RuleID, r.RuleIndex, f.Rule)
			}
			if r.Level != sarifLevel(policies.Action(f.Action)) {
				t.Errorf("%s: result %d has level %s for action %s", name, i, r.Level, f.Action)
			}
			if len(r.Locations) != 1 {
				t.Errorf("%s: result %d has %d locations", name, i, len(r.Locations))
				continue
			}
			loc := r.Locations[0].PhysicalLocation
			if loc.ArtifactLocation.URI != filepath.ToSlash(filepath.Clean(f.File)) || loc.Region.StartLine != f.Line || loc.Region.StartColumn != f.Column {
				t.Errorf("%s: result %d at %s:%d:%d, the finding at %s:%d:%d", name, i,
					loc.ArtifactLocation.URI, loc.Region.StartLine, loc.Region.StartColumn, f.File, f.Line, f.Column)
			}
			if !strings.Contains(r.Message.Text, f.Path+": "+f.Message) {
				t.Errorf("%s: result %d says %q, the finding %s: %s", name, i, r.Message.Text, f.Path, f.Message)
			}
		}
	}
	if results < 50 {
		t.Errorf("only %d results over %d inputs: too few to have tested anything", results, len(inputs))
	}
	t.Logf("%d inputs, %d results, all valid SARIF 2.1.0", len(inputs), results)
}

// TestSARIFSchemaRejects: the validator is real: a result at line 0 or
// with a level SARIF does not know fails it.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := sarifSchema(t)
	log, _ := checkAs(t, "sarif", []string{"-f", "../../examples/02-api-missing-requests.yaml"}, nil)
	for name, edit := range map[string]func(result map[string]any){
		"line 0": func(r map[string]any) {
			r["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		},
		"unknown level": func(r map[string]any) { r["level"] = "deny" },
	} {
		var inst map[string]any
		if err := json.Unmarshal(log, &inst); err != nil {
			t.Fatal(err)
		}
		validateSARIF(t, sch, name+" (unedited)", log)
		edit(inst["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any))
		bad, err := json.Marshal(inst)
		if err != nil {
			t.Fatal(err)
		}
		again, err := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(again); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestSARIFRulesLinkTheirDocs: the log describes every rule of the
// catalogue, in order, with its summary and a link to its section of
// docs/rules.md, whose anchor, as GitHub makes it from the heading, is the
// rule's ID.
func TestSARIFRulesLinkTheirDocs(t *testing.T) {
	log, _ := checkAs(t, "sarif", []string{"-f", "../../examples/01-web-compliant.yaml"}, nil)
	var got sarifLog
	if err := json.Unmarshal(log, &got); err != nil {
		t.Fatal(err)
	}
	anchors := headingAnchors(t, "../../docs/rules.md")
	catalogue := policies.Catalogue()
	rules := got.Runs[0].Tool.Driver.Rules
	if got.Runs[0].Tool.Driver.Name != "scaleguard" || len(rules) != len(catalogue) {
		t.Fatalf("driver %q with %d rules, want scaleguard with %d", got.Runs[0].Tool.Driver.Name, len(rules), len(catalogue))
	}
	for i, r := range catalogue {
		d := rules[i]
		anchor, ok := strings.CutPrefix(d.HelpURI, rulesDocURI+"#")
		if d.ID != r.ID || !ok || anchor != r.ID || !anchors[anchor] {
			t.Errorf("rule %d: id %q, helpUri %q; want %s linking a heading of docs/rules.md", i, d.ID, d.HelpURI, r.ID)
		}
		if d.ShortDescription.Text != r.Summary || !strings.Contains(d.Help.Text, r.Summary) || !strings.Contains(d.Help.Markdown, d.HelpURI) {
			t.Errorf("rule %s: description %q, help %q / %q", r.ID, d.ShortDescription.Text, d.Help.Text, d.Help.Markdown)
		}
	}
}

// headingAnchors are the anchors GitHub gives a Markdown file's headings:
// the text lowercased, punctuation but "-" and "_" dropped, spaces made "-".
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	punct := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text, ok := strings.CutPrefix(sc.Text(), "#")
		if !ok {
			continue
		}
		text = strings.TrimSpace(strings.TrimLeft(text, "#"))
		out[strings.ReplaceAll(punct.ReplaceAllString(strings.ToLower(text), ""), " ", "-")] = true
	}
	return out
}
