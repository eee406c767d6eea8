package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/gitops-engine/pkg/diff"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

const ignoreDifferencesMarker = "<!-- argocd-ignore-differences"

// documentedIgnoreDifferences is the Application fragment under the marker
// in docs/operations.md.
func documentedIgnoreDifferences(t *testing.T) []IgnoreDifferences {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(env.root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), ignoreDifferencesMarker)
	if !ok {
		t.Fatalf("docs/operations.md has no %q block", ignoreDifferencesMarker)
	}
	_, block, ok1 := strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok1 || !ok2 {
		t.Fatalf("docs/operations.md: no yaml block after %q", ignoreDifferencesMarker)
	}
	var app struct {
		Spec struct {
			IgnoreDifferences []IgnoreDifferences `json:"ignoreDifferences"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(block), &app); err != nil {
		t.Fatalf("docs/operations.md ignoreDifferences block: %v\n%s", err, block)
	}
	if len(app.Spec.IgnoreDifferences) == 0 {
		t.Fatalf("docs/operations.md ignoreDifferences block lists nothing:\n%s", block)
	}
	return app.Spec.IgnoreDifferences
}

// mutatedPaths are the fields scaleguard's mutate rules patch in
// repositoryHPA under the built-in standard, from the rules themselves.
func mutatedPaths(t *testing.T) []string {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(repositoryHPA), &obj); err != nil {
		t.Fatal(err)
	}
	standard := policies.Defaults()
	res := policies.EvaluateHPA(policies.HPAReview{Object: typed(t, obj), MutationsOnly: true}, &standard)
	var paths []string
	for _, f := range res.Findings.With(policies.Mutate) {
		paths = append(paths, f.Path.String())
	}
	slices.Sort(paths)
	return paths
}

// leadingPath is the field a jq path expression starts from:
// ".spec.metrics[]? | select(…)" → "spec.metrics".
var leadingPath = regexp.MustCompile(`^\.([A-Za-z0-9_.]+)`)

// The documented ignoreDifferences is held to the rules (every expression
// starts at a field a mutate rule patches, with the standard's numbers) and
// to Argo CD's diff (with it, Argo CD's default diff, three-way and two-way,
// shows none of scaleguard's patches, and a real change in Git still shows;
// the Structured-Merge diff keeps the minReplicas drift documented).
func TestDocumentedIgnoreDifferences(t *testing.T) {
	entries := documentedIgnoreDifferences(t)
	mutated := mutatedPaths(t)
	if want := []string{"spec.behavior", "spec.metrics", "spec.minReplicas"}; !slices.Equal(mutated, want) {
		t.Fatalf("scaleguard patches %v of the repository HPA, want %v: the test's HPA no longer shows every mutation", mutated, want)
	}
	standard := policies.Defaults()
	var joined strings.Builder
	for _, e := range entries {
		if e.Group != "autoscaling" || e.Kind != "HorizontalPodAutoscaler" {
			t.Errorf("ignoreDifferences entry for %s/%s: scaleguard patches only autoscaling/HorizontalPodAutoscaler", e.Group, e.Kind)
		}
		for _, expr := range e.JQPathExpressions {
			m := leadingPath.FindStringSubmatch(expr)
			if m == nil || !slices.Contains(mutated, m[1]) {
				t.Errorf("jqPathExpression %q ignores a field no mutate rule patches (they patch %v)", expr, mutated)
			}
			joined.WriteString(expr + "\n")
		}
	}
	for _, number := range []string{
		fmt.Sprintf("select(. < %d)", standard.Rules.MinReplicas.Minimum),
		fmt.Sprintf("averageUtilization == %d", standard.Rules.MemoryTarget.AverageUtilization),
	} {
		if !strings.Contains(joined.String(), number) {
			t.Errorf("the documented jqPathExpressions do not carry the standard's %q:\n%s", number, joined.String())
		}
	}
	normalizer, err := NewNormalizer(entries)
	if err != nil {
		t.Fatal(err)
	}

	s := applyThreeWays(t, repositoryHPA)
	changed := func(from, to string) string {
		if !strings.Contains(repositoryHPA, from) {
			t.Fatalf("the repository HPA has no %q", from)
		}
		return strings.Replace(repositoryHPA, from, to, 1)
	}
	for _, d := range argoStrategies(s) {
		t.Run(d.name, func(t *testing.T) {
			res, fields := compare(t, repositoryHPA, d, diff.WithNormalizer(normalizer))
			if d.namespace == s.argoServerSide {
				// The Structured-Merge diff applies the Git object as its
				// field manager: minReplicas, owned by argocd-controller and
				// removed from the Git side by the expression, is dropped
				// and defaulted back to 1. docs/operations.md says so and
				// points ServerSideApply=true users at ServerSideDiff=true.
				if !res.Modified || !slices.Equal(fields, []string{"spec.minReplicas"}) {
					t.Errorf("with the documented ignoreDifferences: drift in %v, want [spec.minReplicas] as documented\npredicted: %s\nlive:      %s", fields, res.PredictedLive, res.NormalizedLive)
				}
				return
			}
			if res.Modified || len(fields) > 0 {
				t.Errorf("with the documented ignoreDifferences: drift in %v\npredicted: %s\nlive:      %s", fields, res.PredictedLive, res.NormalizedLive)
			}
			// What Git changes beyond scaleguard's patches still shows.
			for manifest, want := range map[string]string{
				changed("minReplicas: 1", "minReplicas: 3"):                 "spec.minReplicas",
				changed("averageUtilization: 70", "averageUtilization: 60"): "spec.metrics",
			} {
				res, fields := compare(t, manifest, d, diff.WithNormalizer(normalizer))
				if !res.Modified || !slices.Equal(fields, []string{want}) {
					t.Errorf("a change in Git is hidden: drift in %v, want [%s]\n%s", fields, want, manifest)
				}
			}
		})
	}
}
