package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// clusterOnly are rules whose warnings depend on what the demo cluster has
// and the files do not say: it runs no metrics-server, and a file's HPA may
// be applied before its Deployment. The offline verdicts in the golden
// files cannot have them.
var clusterOnly = []string{"[metrics-available] ", "[target-exists] "}

// offlineView drops the cluster-only warnings and reclassifies the object,
// for comparison with the golden files.
func offlineView(r result) result {
	var kept []string
	for _, w := range r.Warnings {
		only := false
		for _, p := range clusterOnly {
			only = only || strings.HasPrefix(w, p)
		}
		if !only {
			kept = append(kept, w)
		}
	}
	if r.Outcome == warned && len(kept) == 0 {
		r.Outcome = admitted
		if r.Diff != "" {
			r.Outcome = patched
		}
	}
	r.Warnings = kept
	return r
}

// TestExamplesInARealCluster applies examples/ the way `make demo` does and
// checks every object's fate against manifests/testdata/golden.
func TestExamplesInARealCluster(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	sg, err := startScaleguard(ctx, bed, root, t.TempDir(), quietSteps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sg.Stop(); err != nil {
			t.Errorf("stopping scaleguard: %v", err)
		}
	})
	files, err := exampleFiles(root, "examples")
	if err != nil {
		t.Fatal(err)
	}
	results, err := applyExamples(ctx, bed, root, files)
	if err != nil {
		t.Fatal(err)
	}

	want := goldenOutcomes(t, root, files)
	if len(results) != len(want) {
		t.Errorf("%d objects applied, golden files describe %d", len(results), len(want))
	}
	for _, r := range results {
		key := objectName(r)
		expected, ok := want[key]
		if !ok {
			t.Errorf("%s (%s): not in the golden files", key, r.File)
			continue
		}
		r = offlineView(r)
		if r.Outcome != expected {
			t.Errorf("%s (%s): %s, golden says %s\nmessage: %s\nwarnings: %q\ndiff:\n%s",
				key, r.File, outcomeName(r.Outcome), outcomeName(expected), r.Message, r.Warnings, r.Diff)
		}
	}

	byName := map[string]result{}
	for _, r := range results {
		byName[objectName(r)] = offlineView(r)
	}
	if r := byName["HorizontalPodAutoscaler shop/checkout"]; !strings.Contains(r.Diff, "\n+  minReplicas: 2\n") ||
		!strings.Contains(r.Diff, "\n-  minReplicas: 1\n") || !strings.Contains(r.Diff, "+      name: memory\n") {
		t.Errorf("checkout's diff does not show minReplicas 1 → 2 and the memory target:\n%s", r.Diff)
	}
	if r := byName["Deployment shop/api"]; !strings.Contains(r.Message, `admission webhook "workload.validate.scaleguard.io" denied the request`) ||
		strings.Contains(r.Message, "STDIN") {
		t.Errorf("api's refusal is not the API server's message: %q", r.Message)
	}
	if r := byName["HorizontalPodAutoscaler analytics/reports"]; len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "[behavior-consistency] ") {
		t.Errorf("reports' warnings = %q, want one [behavior-consistency]", r.Warnings)
	}
	if r := byName["Deployment shop/checkout"]; r.Diff != "" {
		t.Errorf("the API server's own defaults were shown as a patch:\n%s", r.Diff)
	}

	var report strings.Builder
	printReport(&report, results, palette{})
	if strings.Contains(report.String(), "\033[") {
		t.Error("colour in a report meant for a file")
	}
	for _, r := range results {
		if !strings.Contains(report.String(), "  "+objectName(r)+"  "+r.File+"\n") {
			t.Errorf("the report does not list %s (%s):\n%s", objectName(r), r.File, report.String())
		}
	}
	if want := fmt.Sprintf("\n%d objects from %d files: ", len(results), len(files)); !strings.Contains(report.String(), want) {
		t.Errorf("summary line %q missing:\n%s", want, report.String())
	}
}

// goldenOutcomes reads what `scaleguard check` decided for each example
// object: refused on any deny, else patched on any mutate, else warned on any
// warn; an object without findings is admitted.
func goldenOutcomes(t *testing.T, root string, files []string) map[string]outcome {
	t.Helper()
	docs, err := readDocuments(root, files)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]outcome{}
	for _, d := range docs {
		want[objectName(result{Kind: d.obj.GetKind(), Namespace: d.obj.GetNamespace(), Name: d.obj.GetName()})] = admitted
	}
	rank := map[string]outcome{"deny": refused, "mutate": patched, "warn": warned}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		data, err := os.ReadFile(filepath.Join(root, "manifests", "testdata", "golden", name+".findings.json"))
		if err != nil {
			t.Fatal(err)
		}
		var golden struct {
			Findings []struct{ Action, Kind, Namespace, Name string }
		}
		if err := json.Unmarshal(data, &golden); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range golden.Findings {
			key := objectName(result{Kind: f.Kind, Namespace: f.Namespace, Name: f.Name})
			o, ok := rank[f.Action]
			if !ok {
				t.Fatalf("%s: unknown action %q", name, f.Action)
			}
			if o > want[key] {
				want[key] = o
			}
		}
	}
	return want
}

func outcomeName(o outcome) string {
	return [...]string{admitted: "admitted", warned: "warned", patched: "patched", refused: "refused"}[o]
}

func TestSplitFindings(t *testing.T) {
	msg := `denied the request: scaleguard refused Deployment shop/api: [requests-required] a: b; [requests-required] c: spec.metrics: [{type: Resource}]`
	want := "denied the request: scaleguard refused Deployment shop/api:\n" +
		"    [requests-required] a: b;\n" +
		"    [requests-required] c: spec.metrics: [{type: Resource}]"
	if got := splitFindings(msg); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
