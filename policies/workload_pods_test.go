package policies

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// TestSelectorMatches: the text path and labels.Parse agree on every pair.
func TestSelectorMatches(t *testing.T) {
	sets := []labels.Set{
		{}, {"app": "web"}, {"app": "web", "tier": "front"}, {"app": "api"}, {"app": ""},
		{"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "prod"},
	}
	selectors := []string{
		"app=web", "app==web", "app=web,tier=front", "app=", "app!=web", "app", "!app",
		"app in (web,api)", "app notin (web)", "app.kubernetes.io/name=web,app.kubernetes.io/instance=prod",
		"app.kubernetes.io/instance=prod", "tier=front,app=web",
	}
	for _, sel := range selectors {
		parsed, err := labels.Parse(sel)
		if err != nil {
			t.Fatalf("%q: %v", sel, err)
		}
		for _, set := range sets {
			want := parsed.Matches(set)
			if got := selectorMatches(sel, set); got != want {
				t.Errorf("selectorMatches(%q, %v) = %v, labels.Parse says %v", sel, set, got, want)
			}
			if got := selectorMatches(sel, EncodedLabels(set.String())); got != want {
				t.Errorf("selectorMatches(%q, encoded %q) = %v, labels.Parse says %v", sel, set.String(), got, want)
			}
		}
	}
	if selectorMatches("", labels.Set{"app": "web"}) || selectorMatches("app in (", labels.Set{"app": "web"}) {
		t.Error("no selector, or one that does not parse, matched")
	}
}

func TestEncodedLabels(t *testing.T) {
	set := labels.Set{"app.kubernetes.io/name": "web", "tier": "", "x": "1"}
	e := EncodedLabels(set.String())
	for k, v := range set {
		if got, ok := e.Lookup(k); !ok || got != v {
			t.Errorf("Lookup(%q) = %q, %v; want %q", k, got, ok, v)
		}
	}
	if e.Has("app") || e.Has("name") || e.Get("nothing") != "" {
		t.Error("a key not in the set, or a part of one, was found")
	}
	if got := e.Set(); !labels.Equals(got, set) {
		t.Errorf("Set() = %v, want %v", got, set)
	}
	if EncodedLabels("").Has("") || EncodedLabels("").Set() != nil {
		t.Error("empty labels hold something")
	}
}
