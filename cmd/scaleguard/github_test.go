package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unescapeGitHub undoes the escapes as the Actions runner does when it
// reads a workflow command (data: %25, %0D, %0A; properties also %3A, %2C).
func unescapeGitHub(s string, property bool) string {
	pairs := []string{"%0D", "\r", "%0A", "\n"}
	if property {
		pairs = append(pairs, "%3A", ":", "%2C", ",")
	}
	// %25 last, so that an escaped "%0A" ("%250A") comes back as "%0A".
	s = strings.NewReplacer(pairs...).Replace(s)
	return strings.ReplaceAll(s, "%25", "%")
}

func TestGitHubEscaping(t *testing.T) {
	tests := map[string]struct {
		in, data, property string
	}{
		"plain":             {in: "spec.metrics", data: "spec.metrics", property: "spec.metrics"},
		"percent":           {in: "at 80%", data: "at 80%25", property: "at 80%25"},
		"an escape as text": {in: "%0A is LF", data: "%250A is LF", property: "%250A is LF"},
		"line ends":         {in: "a\r\nb\nc", data: "a%0D%0Ab%0Ac", property: "a%0D%0Ab%0Ac"},
		"separators":        {in: "kind: Deployment, name: web", data: "kind: Deployment, name: web", property: "kind%3A Deployment%2C name%3A web"},
		"everything":        {in: "50%,\n:", data: "50%25,%0A:", property: "50%25%2C%0A%3A"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := escapeGitHubData(tc.in); got != tc.data {
				t.Errorf("data %q, want %q", got, tc.data)
			}
			if got := escapeGitHubProperty(tc.in); got != tc.property {
				t.Errorf("property %q, want %q", got, tc.property)
			}
			if got := unescapeGitHub(escapeGitHubData(tc.in), false); got != tc.in {
				t.Errorf("the runner reads the data back as %q", got)
			}
			if got := unescapeGitHub(escapeGitHubProperty(tc.in), true); got != tc.in {
				t.Errorf("the runner reads the property back as %q", got)
			}
		})
	}
}

// TestCheckGitHubOutput: one workflow command per finding, at the file,
// line and column of its field, the command chosen by the action; a file
// name with ":" and "," escaped as a property.
func TestCheckGitHubOutput(t *testing.T) {
	src := mustRead(t, "../../examples/05-search-hpa-contradictions.yaml")
	file := filepath.Join(t.TempDir(), "team:a,b.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	escaped := strings.NewReplacer(":", "%3A", ",", "%2C").Replace(file)
	out, code := checkAs(t, "github", []string{"-f", file}, nil)
	if code != exitDenied {
		t.Errorf("exit %d, want %d", code, exitDenied)
	}
	want := []string{
		"::error file=" + escaped + ",line=19,col=7,title=scaleguard behavior-consistency::HorizontalPodAutoscaler shop/search: spec.behavior.scaleUp.selectPolicy: this HPA can never scale up",
		"::warning file=" + escaped + ",line=20,col=7,title=scaleguard behavior-consistency::HorizontalPodAutoscaler shop/search: spec.behavior.scaleUp.stabilizationWindowSeconds: ",
		"2 objects checked: 1 denied, 1 warnings, 0 mutations (1 with findings)",
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n  %s\nwant it to start\n  %s", i+1, lines[i], w)
		}
	}
	mutations, _ := checkAs(t, "github", []string{"-f", "../../examples/04-checkout-hpa-minimal.yaml"}, nil)
	if !strings.Contains(string(mutations), "::notice file=../../examples/04-checkout-hpa-minimal.yaml,line=26,col=1,title=scaleguard min-replicas::") {
		t.Errorf("a mutation is not a notice at spec.minReplicas:\n%s", mutations)
	}
}
