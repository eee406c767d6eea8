package manifests

import (
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

// A Namespace document among the files counts as it does in the cluster:
// labelled with the settings' opt-out label set to "true", it exempts the
// objects in it (policies.NamespaceExempt), as the webhook configurations'
// namespaceSelector does.
func TestCheckHonoursNamespaceOptOut(t *testing.T) {
	const bare = `apiVersion: apps/v1
kind: Deployment
metadata: {name: old, namespace: legacy}
spec:
  selector: {matchLabels: {app: old}}
  template:
    metadata: {labels: {app: old}}
    spec:
      containers: [{name: app, image: example.com/old:1}]
`
	namespace := func(labels string) string {
		return "apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: " + labels + "}\n---\n"
	}
	tests := map[string]struct {
		docs     string
		settings func(*policies.Settings)
		judged   bool
	}{
		"no Namespace document":          {docs: bare, judged: true},
		"Namespace without the label":    {docs: namespace("{team: a}") + bare, judged: true},
		"opt-out label true":             {docs: namespace(`{scaleguard.io/ignore: "true"}`) + bare},
		"opt-out label after the object": {docs: bare + "---\n" + namespace(`{scaleguard.io/ignore: "true"}`)},
		"opt-out label false":            {docs: namespace(`{scaleguard.io/ignore: "false"}`) + bare, judged: true},
		"the settings' own label": {
			docs:     namespace(`{example.com/no-scaleguard: "true"}`) + bare,
			settings: func(s *policies.Settings) { s.OptOutLabel = "example.com/no-scaleguard" }},
		"the default label once the settings name another": {
			docs:     namespace(`{scaleguard.io/ignore: "true"}`) + bare,
			settings: func(s *policies.Settings) { s.OptOutLabel = "example.com/no-scaleguard" }, judged: true},
		"listed in the settings": {
			docs:     bare,
			settings: func(s *policies.Settings) { s.ExemptNamespaces = append(s.ExemptNamespaces, "legacy") }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			docs, err := Parse("test.yaml", []byte(tc.docs))
			if err != nil {
				t.Fatal(err)
			}
			s := policies.Defaults()
			if tc.settings != nil {
				tc.settings(&s)
			}
			report, err := Check(docs, &s)
			if err != nil {
				t.Fatal(err)
			}
			if report.Denied() != tc.judged {
				t.Errorf("denied = %v, want %v: %+v", report.Denied(), tc.judged, report.Results)
			}
		})
	}
}

// A Namespace document that does not decode is refused with its source.
func TestCheckBadNamespaceDocument(t *testing.T) {
	docs, err := Parse("ns.yaml", []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: [a]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	if _, err := Check(docs, &s); err == nil || !containsAll(err.Error(), "ns.yaml#1", "Namespace legacy") {
		t.Errorf("want an error naming ns.yaml#1 and Namespace legacy, got %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
