package manifests

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

// The documents of a listed custom kind are judged like a Deployment's, and
// are the cluster an HPA in the same files is judged against; not listed,
// they are not read at all.
func TestCheckCustomWorkloadKinds(t *testing.T) {
	data, err := os.ReadFile("testdata/custom/rollout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rollouts := policies.WorkloadKind{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}
	tests := map[string]struct {
		kinds []policies.WorkloadKind
		// want is "Kind rule action" per finding, in document order.
		want []string
	}{
		"Rollout listed":     {kinds: []policies.WorkloadKind{rollouts}, want: []string{"Rollout requests-required deny", "HorizontalPodAutoscaler target-requests deny"}},
		"Rollout not listed": {},
		"listed in another version": {
			kinds: []policies.WorkloadKind{{APIGroup: "argoproj.io", Version: "v1", Kind: "Rollout", Resource: "rollouts"}},
			want:  []string{"Rollout requests-required deny", "HorizontalPodAutoscaler target-requests deny"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			docs, err := Parse("rollout.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			s := policies.Defaults()
			s.WorkloadKinds = tc.kinds
			report, err := Check(docs, &s)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, res := range report.Results {
				for _, f := range res.Findings {
					got = append(got, res.Doc.Kind+" "+f.Rule+" "+string(f.Action))
					if f.Rule == policies.RequestsRequired && !strings.Contains(f.Message, "memory") {
						t.Errorf("requests-required does not name the memory request: %s", f.Message)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q\nwant       %q", got, tc.want)
			}
		})
	}
}

// A document of a listed kind whose fields cannot be read as a pod template
// is an error naming the document, not a pass.
func TestCheckUnreadableCustomWorkload(t *testing.T) {
	docs, err := Parse("bad.yaml", []byte("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop}\nspec: {replicas: three}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	s.WorkloadKinds = []policies.WorkloadKind{{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}}
	_, err = Check(docs, &s)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "Rollout shop/web") || !strings.Contains(err.Error(), "spec.replicas (an integer)") {
		t.Errorf("error = %v, want one naming the file, the object and what is read", err)
	}
}
