package manifests_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/internal/ruletable"
	"github.com/scaleguard/scaleguard/policies"
)

var updateRules = flag.Bool("update-rules", false, "rewrite the rule table's .findings files from check's output, keeping comments and webhook-only lines")

// table is the rule table, read from the repository's copy.
func table(t *testing.T) []ruletable.Group {
	t.Helper()
	groups, err := ruletable.Load(filepath.Join("..", ruletable.Dir))
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

// TestRuleTable runs `scaleguard check`'s path over every case of the rule
// table (testdata/rules) and compares the object's findings with the
// case's .findings file. test/e2e TestRuleTableThroughTheAPIServer runs
// the same cases through the webhook and compares with the same files.
func TestRuleTable(t *testing.T) {
	for _, g := range table(t) {
		for _, c := range g.Cases {
			t.Run(g.Name+"/"+c.Name, func(t *testing.T) {
				got, err := c.Check(&g.Settings)
				if err != nil {
					t.Fatal(err)
				}
				if *updateRules {
					rewriteFindings(t, c, got)
					return
				}
				if want := c.WantCheck(); !slices.Equal(got, want) {
					t.Errorf("%s: scaleguard check gives\n  %s\nthe table says\n  %s\n(go test ./manifests -run TestRuleTable -update-rules rewrites it)",
						c.Source, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			})
		}
	}
}

// rewriteFindings writes got as the case's expected findings, keeping the
// file's comments and its lines for one path: a line check alone gave
// stays so marked.
func rewriteFindings(t *testing.T, c ruletable.Case, got []string) {
	t.Helper()
	path := strings.TrimSuffix(c.Source, ".yaml") + ".findings"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(old)) {
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "webhook: ") {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	for _, f := range got {
		if slices.Contains(c.CheckOnly, f) {
			f = "check: " + f
		}
		out = append(out, f)
	}
	text := strings.Join(out, "\n")
	if text != "" {
		text += "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// onePathOnly are the rules whose violations one of the two paths cannot
// see, and why; docs/rules.md says the same under each rule.
var onePathOnly = map[string]string{
	policies.MetricsAvailable:    "check reads files, which say nothing about the metrics APIs a cluster serves: its violation is the webhook's alone",
	policies.HPAReplicasConflict: "only an update can change spec.replicas, and check judges every file as a create: its violations are in test/e2e TestHPAReplicasConflict",
}

// TestRuleTableCoversEveryRule: every rule of the catalogue has a case
// named RULE-bad… or RULE-warn… whose object it reports, and one named
// RULE-ok… whose object it does not report at the action its settings
// give it (cost-ceiling states its figure as a warning under deny), on
// both paths; a case's name is its namespace, so it is a DNS label.
func TestRuleTableCoversEveryRule(t *testing.T) {
	groups := table(t)
	for _, r := range policies.Catalogue() {
		t.Run(r.ID, func(t *testing.T) {
			var violating, compliant []string
			for _, g := range groups {
				for _, c := range g.Cases {
					rest, ok := strings.CutPrefix(c.Name, r.ID+"-")
					if !ok {
						continue
					}
					lines := append(append(slices.Clone(c.Both), c.CheckOnly...), c.WebhookOnly...)
					reported, atAction := false, false
					for _, l := range lines {
						action, rule, err := ruletable.ParseFinding(l)
						if err != nil {
							t.Fatal(err)
						}
						if rule == r.ID {
							reported = true
							atAction = atAction || action == g.Settings.Action(r.ID)
						}
					}
					switch {
					case strings.HasPrefix(rest, "bad") || strings.HasPrefix(rest, "warn"):
						if !reported {
							t.Errorf("%s: a violating case, but its findings have none of %s", c.Source, r.ID)
						}
						violating = append(violating, c.Name)
					case strings.HasPrefix(rest, "ok"):
						if atAction {
							t.Errorf("%s: a compliant case, but %s reports it at its action %s", c.Source, r.ID, g.Settings.Action(r.ID))
						}
						compliant = append(compliant, c.Name)
					}
				}
			}
			if len(compliant) == 0 {
				t.Errorf("no case named %s-ok…: add a compliant object to %s", r.ID, ruletable.Dir)
			}
			if why, ok := onePathOnly[r.ID]; ok {
				t.Logf("violations seen on one path only: %s", why)
				return
			}
			if len(violating) == 0 {
				t.Errorf("no case named %s-bad… or %s-warn…: add a violating object to %s", r.ID, r.ID, ruletable.Dir)
			}
		})
	}
}
