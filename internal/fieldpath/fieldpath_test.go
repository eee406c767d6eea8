package fieldpath

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestSteps(t *testing.T) {
	for name, tc := range map[string]struct {
		path *field.Path
		want []Step
	}{
		"nil":   {nil, nil},
		"field": {field.NewPath("apiVersion"), []Step{{Name: "apiVersion"}}},
		"index": {field.NewPath("spec", "template", "spec").Child("containers").Index(1).Child("resources", "requests"),
			[]Step{{Name: "spec"}, {Name: "template"}, {Name: "spec"}, {Name: "containers"}, {Name: "1", Subscript: true}, {Name: "resources"}, {Name: "requests"}}},
		"key with dots and a slash": {field.NewPath("metadata", "annotations").Key("scaleguard.io/exempt"),
			[]Step{{Name: "metadata"}, {Name: "annotations"}, {Name: "scaleguard.io/exempt", Subscript: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Steps(tc.path); !slices.Equal(got, tc.want) {
				t.Errorf("Steps(%s) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}
}

func TestStepIndex(t *testing.T) {
	for _, tc := range []struct {
		step Step
		want int
		ok   bool
	}{
		{Step{Name: "3", Subscript: true}, 3, true},
		{Step{Name: "3"}, 0, false},
		{Step{Name: "a.b/c", Subscript: true}, 0, false},
	} {
		if got, ok := tc.step.Index(); got != tc.want || ok != tc.ok {
			t.Errorf("%+v.Index() = %d, %v; want %d, %v", tc.step, got, ok, tc.want, tc.ok)
		}
	}
}

// TestParseWritesTheSameText: a path read back from its text writes that
// text, so a finding read from JSON or a warning is the same finding.
func TestParseWritesTheSameText(t *testing.T) {
	for _, p := range []*field.Path{
		field.NewPath("metadata"),
		field.NewPath("spec", "metrics").Index(0).Child("containerResource", "container"),
		field.NewPath("spec", "triggers").Index(2).Child("metadata", "containerName"),
		field.NewPath("metadata", "annotations").Key("scaleguard.io/exempt"),
		field.NewPath("spec", "behavior", "scaleUp", "policies").Index(0).Child("value"),
	} {
		if got := Parse(p.String()); got.String() != p.String() {
			t.Errorf("Parse(%q) writes %q", p, got)
		}
	}
	if p := Parse(""); p != nil {
		t.Errorf("Parse(\"\") = %s, want nil", p)
	}
}

// FuzzParse: any text reads without a panic, and what Parse builds from
// it writes text that reads back to the same steps.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"spec.a[0].b", "metadata.annotations[a.b/c]", "[x", "a..b[", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse(s)
		if again := Parse(p.String()); p != nil && again.String() != p.String() {
			t.Fatalf("Parse(%q) writes %q, which reads back as %q", s, p, again)
		}
	})
}
