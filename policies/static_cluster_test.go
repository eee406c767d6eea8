package policies

import (
	"strings"
	"testing"
)

// TestTargetNotFoundWording: the files `check` reads speak only for
// themselves, and never print an empty namespace; a snapshot of a cluster
// speaks for the cluster, as the webhook does.
func TestTargetNotFoundWording(t *testing.T) {
	tests := map[string]struct {
		cluster       *StaticCluster
		namespace     string
		want, notWant []string
	}{
		"files, namespaced": {cluster: NewFilesCluster(), namespace: "shop",
			want:    []string{`Deployment "web" in namespace shop is not among the files checked`, "check the name"},
			notWant: []string{"does not exist", "(yet)"}},
		"files, no namespace": {cluster: NewFilesCluster(),
			want:    []string{`Deployment "web" is not among the files checked`},
			notWant: []string{"namespace", "does not exist"}},
		"a cluster's snapshot": {cluster: NewStaticCluster(), namespace: "shop",
			want: []string{`Deployment "web" does not exist in namespace shop (yet); until it does the HPA reports FailedGetScale`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := hpa()
			h.Namespace = tc.namespace
			r := EvaluateHPA(HPAReview{Object: h, Cluster: tc.cluster}, func() *Settings { s := Defaults(); return &s }())
			found := findingsOf(r.Findings, TargetExists)
			if len(found) != 1 {
				t.Fatalf("target-exists findings %v, want one", found)
			}
			for _, w := range tc.want {
				if !strings.Contains(found[0].Message, w) {
					t.Errorf("message %q does not say %q", found[0].Message, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(found[0].Message, w) {
					t.Errorf("message %q says %q", found[0].Message, w)
				}
			}
		})
	}
}
