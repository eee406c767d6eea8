package manifests

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaleguard/scaleguard/policies"
)

// located is a finding by rule and path, with where it points.
type located struct {
	rule, path string
	Position
}

func findingsAt(t *testing.T, report Report) []located {
	t.Helper()
	var out []located
	for _, res := range report.Results {
		for _, f := range res.Findings {
			out = append(out, located{f.Rule, f.Path.String(), res.Doc.Position(f.Path)})
		}
	}
	return out
}

// TestPositionsOnAThreeDocumentFile: the findings of the second and third
// documents point at the line and column of their field in the file (the
// numbers read off testdata/positions/three-documents.yaml by hand); a
// field the document does not write points at its nearest written parent.
func TestPositionsOnAThreeDocumentFile(t *testing.T) {
	const file = "testdata/positions/three-documents.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	var starts []int
	for _, d := range docs {
		if d.File != file {
			t.Errorf("%s: File %q", d.Source, d.File)
		}
		starts = append(starts, d.Line)
	}
	// The first line of each document, the comments that open it included.
	if want := []int{1, 7, 27}; !slices.Equal(starts, want) {
		t.Errorf("documents start at lines %v, want %v", starts, want)
	}
	s := policies.Defaults()
	report, err := Check(docs, &s)
	if err != nil {
		t.Fatal(err)
	}
	want := []located{
		// Document 2: `requests:` of the only container.
		{policies.RequestsRequired, "spec.template.spec.containers[0].resources.requests", Position{24, 11}},
		// Document 3.
		{policies.MinReplicas, "spec.minReplicas", Position{36, 3}},
		{policies.MemoryTarget, "spec.metrics", Position{38, 3}},
		// Not written: `spec:`.
		{policies.BehaviorDefaults, "spec.behavior", Position{34, 1}},
		// The memory metric the mutation adds is not written: `metrics:`.
		{policies.TargetRequests, "spec.metrics[1]", Position{38, 3}},
		// A map key in brackets holding dots and a slash.
		{policies.ExemptionReason, "metadata.annotations[scaleguard.io/exempt]", Position{33, 5}},
	}
	if got := findingsAt(t, report); !slices.Equal(got, want) {
		t.Errorf("findings at\n  %v\nwant\n  %v", got, want)
	}
}

// TestPositionsFollowTheFile: separators with comments, empty documents,
// CRLF line ends, a List's items, JSON and stdin all count lines as the
// file has them.
func TestPositionsFollowTheFile(t *testing.T) {
	const hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 4\n"
	tests := map[string]struct {
		data string
		// want is the position of spec.minReplicas in each document.
		want []Position
	}{
		"leading separators and comments": {
			data: "---\n--- # first\n\n# note\n" + hpa + "--- # second\n---\n" + hpa,
			want: []Position{{10, 3}, {19, 3}},
		},
		"CRLF": {
			data: strings.ReplaceAll(hpa+"---\n"+hpa, "\n", "\r\n"),
			want: []Position{{6, 3}, {14, 3}},
		},
		"no newline at the end": {
			data: hpa + "---\n" + strings.TrimSuffix(hpa, "\n"),
			want: []Position{{6, 3}, {14, 3}},
		},
		"List items": {
			data: "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSuffix(hpa, "\n"), "\n", "\n  ") + "\n- " + strings.ReplaceAll(strings.TrimSuffix(hpa, "\n"), "\n", "\n  ") + "\n",
			want: []Position{{9, 5}, {16, 5}},
		},
		"JSON": {
			data: `{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},` + "\n" +
				` "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},` + "\n" +
				`  "minReplicas": 1, "maxReplicas": 4}}` + "\n",
			want: []Position{{3, 3}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			docs, err := Load([]string{Stdin}, strings.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []Position
			for _, d := range docs {
				if d.File != Stdin || !strings.HasPrefix(d.Source, Stdin+"#") {
					t.Errorf("stdin document named %q (%q), want %q", d.File, d.Source, Stdin)
				}
				got = append(got, d.Position(field.NewPath("spec", "minReplicas")))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("spec.minReplicas at %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPositionOfPaths: how a finding's path is followed, and where it stops.
func TestPositionOfPaths(t *testing.T) {
	const doc = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    example.com/a.b: "x"
spec:
  template:
    spec:
      containers:
      - name: a
      -   name: b
          resources: {}
`
	docs, err := Parse("web.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	pod := field.NewPath("spec", "template", "spec")
	annotation := field.NewPath("metadata", "annotations").Key("example.com/a.b")
	for _, tc := range []struct {
		path *field.Path
		want Position
	}{
		{nil, Position{1, 1}},
		{field.NewPath("kind"), Position{2, 1}},
		{annotation, Position{6, 5}},
		{pod.Child("containers").Index(0), Position{11, 9}},
		{pod.Child("containers").Index(1), Position{12, 11}},
		{pod.Child("containers").Index(1).Child("resources"), Position{13, 11}},
		{pod.Child("containers").Index(1).Child("resources", "cpu"), Position{13, 11}},
		{pod.Child("containers").Index(2).Child("resources"), Position{10, 7}},
		{pod.Child("containers").Key("name"), Position{10, 7}},
		{pod.Child("initContainers").Index(0).Child("resources"), Position{9, 5}},
		{field.NewPath("status", "replicas"), Position{1, 1}},
		// A path is followed by the text it writes, whatever that is.
		{field.NewPath(annotation.String() + "unexpected"), Position{6, 5}},
	} {
		if got := docs[0].Position(tc.path); got != tc.want {
			t.Errorf("%s at %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestTextAndJSONCarryPositions: both formats print where each finding is.
func TestTextAndJSONCarryPositions(t *testing.T) {
	docs, err := Parse("-", []byte("# c\napiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: w}\nspec: {scaleTargetRef: {kind: Deployment, name: w}, maxReplicas: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	report, err := Check(docs, &s)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	// apiVersion is on line 2; spec, the parent of every v2 field, on 5.
	for _, want := range []string{"-:2:1 ", "[hpa-api-version] apiVersion", "-:5:1 ", "[memory-target] spec.metrics"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{`"file": "-",`, `"line": 2,`, `"line": 5,`, `"column": 1`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("json lacks %s:\n%s", want, js.String())
		}
	}
}

// FuzzPositions: any input Parse accepts, and any path, gives a position
// inside the input, never a panic.
func FuzzPositions(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
		"---\n--- # c\r\napiVersion: v1\r\nkind: A\r\nx: &a {b: [1, 2]}\r\ny: *a\r\n",
		`{"apiVersion": "v1", "kind": "A", "spec": {"a": [{"b": 1}]}}`,
	} {
		f.Add(seed, "spec.a[0].b")
		f.Add(seed, "metadata.annotations[a.b/c]")
	}
	f.Fuzz(func(t *testing.T, data, path string) {
		docs, err := Parse("f.yaml", []byte(data))
		if err != nil {
			return
		}
		lines := strings.Count(data, "\n") + 1
		// field.NewPath(path) writes path as it is: any text a path can write.
		for _, d := range docs {
			for _, p := range []*field.Path{field.NewPath(path), nil} {
				pos := d.Position(p)
				if pos.Line < 1 || pos.Line > lines || pos.Column < 1 {
					t.Fatalf("%s: %q at %+v, outside the %d lines of %q", d.Source, p, pos, lines, data)
				}
			}
		}
	})
}
