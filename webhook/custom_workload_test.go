package webhook

import (
	"strings"
	"testing"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// A Rollout lacking a memory request, as the API server sends it for a CRD
// that keeps the spec as written (a CPU request written as a number).
const rolloutNoMemory = `{
  "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
  "metadata": {"name": "checkout", "namespace": "shop"},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "checkout"}},
    "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
    "template": {"metadata": {"labels": {"app": "checkout"}},
      "spec": {"containers": [{"name": "app", "image": "example/app:1", "resources": {"requests": {"cpu": 1}}}]}}}
}`

var rolloutGVK = metav1.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}

func TestWorkloadValidatorCustomKinds(t *testing.T) {
	rollouts := policies.WorkloadKind{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}
	tests := map[string]struct {
		kinds []policies.WorkloadKind
		kind  metav1.GroupVersionKind
		// allowed and want: the answer, and substrings of its message.
		allowed bool
		want    []string
	}{
		"listed: judged like a Deployment": {
			kinds: []policies.WorkloadKind{rollouts}, kind: rolloutGVK,
			want: []string{"[requests-required]", "spec.template.spec.containers[0].resources.requests", "memory"},
		},
		"no longer listed: an error naming the kind, not a pass": {
			kind: rolloutGVK,
			want: []string{"settings.workloadKinds", "argoproj.io/v1alpha1, Kind=Rollout"},
		},
		"listed in another version: an error too": {
			kinds: []policies.WorkloadKind{{APIGroup: "argoproj.io", Version: "v1", Kind: "Rollout", Resource: "rollouts"}}, kind: rolloutGVK,
			want: []string{"settings.workloadKinds"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := policies.Defaults()
			s.WorkloadKinds = tc.kinds
			h := NewWorkloadValidator(StaticSettings{S: &s}, nil, NewMetrics(), logr.Discard())
			resp := call(t, h, reviewOf(tc.kind, rolloutNoMemory))
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			for _, w := range tc.want {
				if !strings.Contains(resp.Result.Message, w) {
					t.Errorf("message %q lacks %q", resp.Result.Message, w)
				}
			}
		})
	}
}
