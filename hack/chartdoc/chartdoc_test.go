package main

import (
	"strings"
	"testing"
)

// TestChartREADMEIsCurrent fails when charts/scaleguard/README.md's values
// table no longer matches values.yaml.
func TestChartREADMEIsCurrent(t *testing.T) {
	if err := run("../../charts/scaleguard", true); err != nil {
		t.Fatal(err)
	}
}

func TestTable(t *testing.T) {
	values := []byte(`# -- Pods.
replicaCount: 3
image:
  # -- Repository.
  repository: example/x
# -- Settings, documented as a whole.
settings:
  mode: enforce
  rules: {a: 1}
`)
	got, err := Table(values)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| `replicaCount` | number | `3` | Pods. |", "| `image.repository` | string | `\"example/x\"` | Repository. |", "| `settings` | object |"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if _, err := Table([]byte("# -- ok\na: 1\nb: 2\n")); err == nil || !strings.Contains(err.Error(), "b") {
		t.Errorf("an undocumented key must be an error naming it, got %v", err)
	}
}
