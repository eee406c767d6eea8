package audit

import (
	"slices"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

var rollouts = policies.WorkloadKind{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}

// rollout reads a stored Rollout "web" in shop whose container requests
// requests, as ReaderSource reads one.
func rollout(t *testing.T, requests string) Workload {
	t.Helper()
	var obj map[string]any
	doc := `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: example.com/web:1, resources: {requests: ` + requests + `}}]
`
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	w, err := policies.WorkloadFromUnstructured(rollouts, obj)
	w.Kind = rollouts.Kind
	return Workload{APIVersion: rollouts.APIVersion(), Workload: w, Err: err, Namespace: "shop", Name: "web"}
}

func TestScanCustomWorkloads(t *testing.T) {
	onRollout := hpa("shop", "web", "web")
	onRollout.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: rollouts.APIVersion(), Kind: rollouts.Kind, Name: "web"}
	tests := map[string]struct {
		objs Objects
		want []string
	}{
		"a Rollout lacking a memory request, and its HPA": {
			// The missing request is reported once, on the Rollout
			// (requests-required), and the HPA is denied for it.
			objs: Objects{
				Workloads: []Workload{rollout(t, "{cpu: 100m}")},
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{onRollout},
			},
			want: []string{"HorizontalPodAutoscaler shop/web target-requests deny", "Rollout shop/web requests-required deny"},
		},
		"a standard Rollout and its HPA pass": {
			objs: Objects{
				Workloads: []Workload{rollout(t, "{cpu: 100m, memory: 128Mi}")},
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{onRollout},
			},
		},
		"a Rollout that cannot be read is unchecked, not passed": {
			objs: Objects{Workloads: []Workload{rollout(t, "{cpu: lots}")}},
			want: []string{"Rollout shop/web requests-required warn unchecked"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := policies.Defaults()
			s.WorkloadKinds = []policies.WorkloadKind{rollouts}
			got := describe(Scan(tc.objs, nil, &s).Findings)
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q\nwant       %q", got, tc.want)
			}
		})
	}
}
