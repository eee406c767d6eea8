package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

const chart = "../../charts/scaleguard"

// TestSchemaIsCurrent fails when charts/scaleguard/values.schema.json's
// settings.rules no longer is what the rule catalogue generates.
func TestSchemaIsCurrent(t *testing.T) {
	if err := run(chart, true); err != nil {
		t.Fatal(err)
	}
}

func readSchema(t *testing.T) []byte {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(chart, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// edit replaces old, which must occur exactly once, so that an edit that
// no longer applies fails instead of testing nothing.
func edit(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(doc, []byte(old)); n != 1 {
		t.Fatalf("%q occurs %d times in the schema, want 1", old, n)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

// The rules' enums and list come from the catalogue: a rule's actions in
// the schema are exactly its catalogue actions, in order, and the rules
// are the catalogue's.
func TestRulesAreTheCatalogue(t *testing.T) {
	var doc struct {
		Properties struct {
			Settings struct {
				Properties struct {
					Rules struct {
						Properties map[string]struct {
							Properties struct {
								Action struct {
									Enum []policies.Action `json:"enum"`
								} `json:"action"`
							} `json:"properties"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"properties"`
			} `json:"settings"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(readSchema(t), &doc); err != nil {
		t.Fatal(err)
	}
	rules := doc.Properties.Settings.Properties.Rules.Properties
	if len(rules) != len(policies.Catalogue()) {
		t.Errorf("the schema has %d rules, the catalogue %d", len(rules), len(policies.Catalogue()))
	}
	for _, r := range policies.Catalogue() {
		if got := rules[r.ID].Properties.Action.Enum; !slices.Equal(got, r.Actions) {
			t.Errorf("%s: action enum %v, catalogue %v", r.ID, got, r.Actions)
		}
	}
}

func TestGenerate(t *testing.T) {
	current := readSchema(t)
	tests := map[string]struct {
		// stale is the current file edited by hand.
		stale func(t *testing.T, doc []byte) []byte
		// want is the file generated from it: the current one unless set.
		want func(t *testing.T, doc []byte) []byte
		// errs are what the error must name, each; none means no error.
		errs []string
	}{
		"a rule's enum drifted from the catalogue": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"enum": [
                    "off",
                    "warn",
                    "deny"
                  ]`, `"enum": [
                    "off",
                    "warn",
                    "mutate",
                    "deny"
                  ]`)
			},
		},
		"a rule the catalogue no longer has": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"properties": {
            "requests-required": {`, `"properties": {
            "retired-rule": {"type": "object", "properties": {"action": {"enum": ["deny"]}}},
            "requests-required": {`)
			},
		},
		"a rule missing": {
			stale: func(t *testing.T, doc []byte) []byte {
				_, end, err := valueSpan(doc, append(slices.Clone(rulesPath), "properties", policies.HPAAPIVersion))
				if err != nil {
					t.Fatal(err)
				}
				key := bytes.LastIndex(doc[:end], []byte(`"`+policies.HPAAPIVersion+`"`))
				next := end + bytes.IndexByte(doc[end:], '"')
				return slices.Concat(doc[:key], doc[next:])
			},
		},
		"hand edits outside settings.rules are kept as written": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"properties": {
        "mode": {`, `"properties": {
        "x-hand-written":   {"type":"string"},
        "mode": {`)
			},
			want: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"properties": {
        "mode": {`, `"properties": {
        "x-hand-written":   {"type":"string"},
        "mode": {`)
			},
		},
		"a setting of a rule without a schema": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `,
                "minimum": {
                  "type": "integer",
                  "minimum": 1
                }`, "")
			},
			errs: []string{"settings.rules.min-replicas lacks minimum"},
		},
		"a schema for no setting": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"averageUtilization": {`, `"maximum": {"type": "integer"},
                "averageUtilization": {`)
			},
			errs: []string{"settings.rules.memory-target has maximum, which is no setting of the rule"},
		},
		"a key the generator would drop": {
			stale: func(t *testing.T, doc []byte) []byte {
				return edit(t, doc, `"rules": {
          "type": "object",`, `"rules": {
          "type": "object",
          "required": ["requests-required"],`)
			},
			errs: []string{`settings.rules has "required"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stale := tc.stale(t, bytes.Clone(current))
			if bytes.Equal(stale, current) {
				t.Fatal("the edit changed nothing")
			}
			got, err := Generate(stale)
			if len(tc.errs) > 0 {
				for _, want := range tc.errs {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v, want it to name %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := current
			if tc.want != nil {
				want = tc.want(t, bytes.Clone(current))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("generated file differs from the expected one:\n%s", firstDifference(got, want))
			}
		})
	}
}

// run with -check reports a stale file and leaves it; without, it makes
// it current.
func TestRunCheckAndWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "values.schema.json")
	stale := edit(t, readSchema(t), `"description": "the most an HPA can cost a month stays within budget; default action off`,
		`"description": "an old summary`)
	if err := os.WriteFile(path, stale, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err == nil || !strings.Contains(err.Error(), "is stale") || !strings.Contains(err.Error(), "make generate") {
		t.Errorf("-check on a stale file: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, stale) {
		t.Error("-check changed the file")
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Errorf("after writing: %v", err)
	}
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
