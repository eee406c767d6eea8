package manifests

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/scaleguard/scaleguard/internal/realworld"
	"github.com/scaleguard/scaleguard/policies"
)

// corpusFiles is the real-world corpus when this machine has it, and
// examples/ with the HPA versions of testdata/versions otherwise.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	if dir := realworld.Dir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if len(files) < realworld.MinFiles {
			t.Fatalf("%s: only %d manifest files", dir, len(files))
		}
		return files
	}
	t.Logf("the real-world corpus (shared/realworld beside an ancestor of the repository, or $%s) is not here: checking examples/ and testdata/versions/", realworld.Env)
	var files []string
	for _, pattern := range []string{"../examples/*.yaml", "../examples/*/*.yaml", "testdata/versions/*.yaml"} {
		found, _ := filepath.Glob(pattern)
		files = append(files, found...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d example files", len(files))
	}
	return files
}

// TestCheckJudgesEveryRealDocument: valid Kubernetes documents never stop
// `check` (exit 2), whatever HPA version they are written in; the --fix
// output, checked again, changes nothing; and no object gets two findings of
// one rule at one path (one root cause, one finding).
func TestCheckJudgesEveryRealDocument(t *testing.T) {
	s := policies.Defaults()
	files := corpusFiles(t)
	docs, err := Load(files, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	report, err := Check(docs, &s)
	if err != nil {
		t.Fatalf("check stops (exit 2) on a valid document: %v", err)
	}
	hpas := 0
	for _, res := range report.Results {
		if res.Doc.Kind == policies.KindHPA {
			hpas++
			if res.HPA == nil {
				t.Errorf("%s: HPA %s was not judged", res.Doc.Source, res.Doc.Name)
			}
		}
		seen := map[string]bool{}
		for _, f := range res.Findings {
			key := f.Rule + " " + f.Path.String()
			if seen[key] {
				t.Errorf("%s: %s %s has two findings of %s at %s:\n%s", res.Doc.Source, res.Doc.Kind, res.Doc.Name, f.Rule, f.Path, res.Findings.With(f.Action))
			}
			seen[key] = true
		}
	}
	if hpas == 0 {
		t.Fatal("no HPA among the files")
	}

	var fixed bytes.Buffer
	if err := report.WriteFixed(&fixed); err != nil {
		t.Fatal(err)
	}
	again, err := Parse("fixed", fixed.Bytes())
	if err != nil {
		t.Fatalf("the --fix output does not parse: %v", err)
	}
	if len(again) != len(docs) {
		t.Fatalf("the --fix output has %d documents, the input %d", len(again), len(docs))
	}
	report2, err := Check(again, &s)
	if err != nil {
		t.Fatalf("the --fix output stops check: %v", err)
	}
	for i, res := range report2.Results {
		source := docs[i].Source
		if m := res.Findings.With(policies.Mutate); len(m) > 0 {
			t.Errorf("%s: the --fix output is still mutated: %v", source, m)
		}
		if len(res.Findings.With(policies.Deny)) > 0 {
			for _, f := range res.Findings {
				if f.Rule == policies.HPAAPIVersion {
					t.Errorf("%s: the --fix output is still in an old HPA version: %v", source, f)
				}
			}
		}
		if res.Fixed != nil {
			t.Errorf("%s: the --fix output changes again:\n%s", source, res.Fixed)
		}
	}
}
