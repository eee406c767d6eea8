package policies

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogueIsDocumented keeps docs/rules.md true to the code: exactly
// one heading per rule ID (its Anchor), in catalogue order, no heading for
// a rule that does not exist, and in each rule's section its default
// action and one **Upstream.** paragraph naming what of Kubernetes the
// rule mirrors or relies on.
func TestCatalogueIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, m := range regexp.MustCompile(`(?m)^## ([a-z0-9-]+)\s*$`).FindAllStringSubmatch(string(doc), -1) {
		headings = append(headings, m[1])
	}
	rules := Catalogue()
	if len(headings) != len(rules) {
		t.Fatalf("docs/rules.md has headings %v, the catalogue has %d rules", headings, len(rules))
	}
	for i, r := range rules {
		if headings[i] != r.Anchor() {
			t.Errorf("heading %d is %q, want %q", i, headings[i], r.Anchor())
		}
	}
	sections := regexp.MustCompile(`(?m)^## `).Split(string(doc), -1)
	for _, sec := range sections {
		id, _, _ := strings.Cut(sec, "\n")
		r, ok := Rule(strings.TrimSpace(id))
		if !ok {
			continue
		}
		if m := defaultAction.FindStringSubmatch(sec); m == nil || m[1] != string(r.Default()) {
			t.Errorf("the section of %s says %v, want Default action: `%s`", r.ID, m, r.Default())
		}
		if n := strings.Count(sec, "**Upstream.**"); n != 1 {
			t.Errorf("the section of %s has %d **Upstream.** paragraphs, want 1", id, n)
		}
	}
}

var defaultAction = regexp.MustCompile("Default action:\\s+`([a-z]+)`")

// Each rule's Setting is the field of RuleSettings under the rule's ID,
// and every field of RuleSettings is a rule's: a mark set through Setting
// comes out at rules.<id>.action in the settings' JSON, and nowhere else.
func TestCatalogueSettingIsTheRulesKey(t *testing.T) {
	var zero RuleSettings
	keys := map[string]any{}
	if err := roundTrip(zero, &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(catalogue) {
		t.Errorf("RuleSettings has %d keys, the catalogue %d rules", len(keys), len(catalogue))
	}
	for _, r := range Catalogue() {
		var rs RuleSettings
		r.Setting(&rs).Action = "mark"
		var got map[string]struct {
			Action Action `json:"action"`
		}
		if err := roundTrip(rs, &got); err != nil {
			t.Fatal(err)
		}
		for id, v := range got {
			if marked := v.Action == "mark"; marked != (id == r.ID) {
				t.Errorf("%s's Setting sets rules.%s.action", r.ID, id)
			}
		}
		if _, ok := got[r.ID]; !ok {
			t.Errorf("RuleSettings has no key %s", r.ID)
		}
	}
}

func roundTrip(v, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}
