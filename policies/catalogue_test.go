package policies

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogueIsDocumented keeps docs/rules.md true to the code: exactly
// one heading per rule ID, in catalogue order, no heading for a rule that
// does not exist, and in each rule's section one **Upstream.** paragraph
// naming what of Kubernetes the rule mirrors or relies on.
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
		if headings[i] != r.ID {
			t.Errorf("heading %d is %q, want %q", i, headings[i], r.ID)
		}
	}
	sections := regexp.MustCompile(`(?m)^## `).Split(string(doc), -1)
	for _, sec := range sections {
		id, _, _ := strings.Cut(sec, "\n")
		if !Known(strings.TrimSpace(id)) {
			continue
		}
		if n := strings.Count(sec, "**Upstream.**"); n != 1 {
			t.Errorf("the section of %s has %d **Upstream.** paragraphs, want 1", id, n)
		}
	}
}
