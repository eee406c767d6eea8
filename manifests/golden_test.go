package manifests

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// TestGolden pairs every manifest in examples/, and every HPA version in
// testdata/versions/, with the findings and the fixed manifest it must
// produce (testdata/golden/NAME.findings.json and NAME.fixed.yaml). Run
// `go test ./manifests -update` after a deliberate change and review the
// diff.
func TestGolden(t *testing.T) {
	var inputs []string
	for _, pattern := range []string{"../examples/*.yaml", "testdata/versions/*.yaml"} {
		found, err := filepath.Glob(pattern)
		if err != nil || len(found) == 0 {
			t.Fatalf("no manifests match %s: %v", pattern, err)
		}
		inputs = append(inputs, found...)
	}
	s := policies.Defaults()
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			docs, err := Load([]string{in}, nil)
			if err != nil {
				t.Fatal(err)
			}
			report, err := Check(docs, &s)
			if err != nil {
				t.Fatal(err)
			}
			var findings, fixed bytes.Buffer
			if err := report.WriteJSON(&findings); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteFixed(&fixed); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "golden", name+".findings.json"), findings.Bytes())
			compareGolden(t, filepath.Join("testdata", "golden", name+".fixed.yaml"), fixed.Bytes())

			// The fixed output is a fixed point: checking it again finds
			// nothing left to mutate and changes nothing.
			again, err := Parse(name+".fixed.yaml", fixed.Bytes())
			if err != nil {
				t.Fatalf("fixed output does not parse: %v", err)
			}
			report2, err := Check(again, &s)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range report2.Results {
				if m := res.Findings.With(policies.Mutate); len(m) > 0 {
					t.Errorf("%s: fixed output still mutated: %v", res.Doc.Source, m)
				}
				if res.Fixed != nil {
					t.Errorf("%s: fixed output changed again:\n%s", res.Doc.Source, res.Fixed)
				}
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./manifests -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
