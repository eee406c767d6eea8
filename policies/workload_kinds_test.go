package policies

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var rolloutKind = WorkloadKind{APIGroup: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"}

func TestWorkloadKindsSettings(t *testing.T) {
	tests := map[string]struct {
		yaml string
		// errs are substrings the error must hold; none means it parses.
		errs []string
	}{
		"none by default": {yaml: ""},
		"Argo Rollouts and OpenKruise": {
			yaml: `workloadKinds:
- {apiGroup: argoproj.io, version: v1alpha1, kind: Rollout, resource: rollouts}
- {apiGroup: apps.kruise.io, version: v1alpha1, kind: CloneSet, resource: clonesets}
`,
		},
		"every field missing": {
			yaml: "workloadKinds: [{}]\n",
			errs: []string{"workloadKinds[0].apiGroup: Required value", "workloadKinds[0].version:", "workloadKinds[0].kind:", "workloadKinds[0].resource:", "argoproj.io"},
		},
		"a built-in group": {
			yaml: "workloadKinds: [{apiGroup: apps, version: v1, kind: ReplicaSet, resource: replicasets}]\n",
			errs: []string{`workloadKinds[0].apiGroup: Invalid value: "apps": a built-in group`},
		},
		"a kind written as a resource": {
			yaml: "workloadKinds: [{apiGroup: argoproj.io, version: v1alpha1, kind: rollouts, resource: Rollout}]\n",
			errs: []string{`workloadKinds[0].kind: Invalid value: "rollouts": not a kind`, `workloadKinds[0].resource: Invalid value: "Rollout": not a resource name`},
		},
		"a custom kind named like a built-in one": {
			yaml: "workloadKinds: [{apiGroup: example.com, version: v1, kind: Deployment, resource: deployments}]\n",
			errs: []string{`workloadKinds[0].kind: Invalid value: "Deployment": the name of a built-in workload kind`},
		},
		"one kind listed twice": {
			yaml: `workloadKinds:
- {apiGroup: argoproj.io, version: v1alpha1, kind: Rollout, resource: rollouts}
- {apiGroup: example.com, version: v1, kind: Rollout, resource: rollouts}
`,
			errs: []string{`workloadKinds[1].kind: Duplicate value: "Rollout": also workloadKinds[0]; list each kind once`},
		},
		"an unknown key": {
			yaml: "workloadKinds: [{apiGroup: argoproj.io, version: v1alpha1, kind: Rollout, resources: rollouts}]\n",
			errs: []string{`unknown field "workloadKinds[0].resources"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tc.yaml))
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("ParseSettings: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseSettings accepted it, want errors %q", tc.errs)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\nlacks %q", err, want)
				}
			}
		})
	}
}

func TestIsWorkloadKind(t *testing.T) {
	s := Defaults()
	s.WorkloadKinds = []WorkloadKind{rolloutKind}
	tests := map[string]struct {
		group, kind string
		want        bool
	}{
		"a Deployment":                   {"apps", KindDeployment, true},
		"a StatefulSet":                  {"apps", KindStatefulSet, true},
		"a listed Rollout":               {"argoproj.io", "Rollout", true},
		"a Rollout of another group":     {"example.com", "Rollout", false},
		"a ReplicaSet":                   {"apps", "ReplicaSet", false},
		"an unlisted CloneSet":           {"apps.kruise.io", "CloneSet", false},
		"a Deployment in a custom group": {"example.com", KindDeployment, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := s.IsWorkloadKind(tc.group, tc.kind); got != tc.want {
				t.Errorf("IsWorkloadKind(%q, %q) = %v, want %v", tc.group, tc.kind, got, tc.want)
			}
		})
	}
}

func TestWorkloadFromUnstructured(t *testing.T) {
	tests := map[string]struct {
		yaml string
		// err is a substring of the error; "" means it decodes.
		err   string
		check func(t *testing.T, w Workload)
	}{
		"a Rollout with a pod template": {
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop, annotations: {scaleguard.io/exempt: requests-required}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx
        resources: {requests: {cpu: 1, memory: 128Mi}}
`,
			check: func(t *testing.T, w Workload) {
				if w.Kind != "Rollout" || w.Meta.Name != "web" || w.Meta.Namespace != "shop" || w.Meta.Annotations[AnnotationExempt] != RequestsRequired {
					t.Errorf("identity = %s %+v", w.Kind, w.Meta)
				}
				if w.Replicas == nil || *w.Replicas != 3 {
					t.Errorf("replicas = %v, want 3", w.Replicas)
				}
				if w.Selector == nil || w.Selector.String() != "app=web" {
					t.Errorf("selector = %v, want app=web", w.Selector)
				}
				cs := w.Template.Spec.Containers
				if len(cs) != 1 || cs[0].Name != "app" {
					t.Fatalf("containers = %+v", cs)
				}
				if got := cs[0].Resources.Requests[corev1.ResourceCPU]; got.Cmp(resource.MustParse("1")) != 0 {
					t.Errorf("cpu request = %s, want 1 (an integer in YAML)", got.String())
				}
			},
		},
		"a Rollout with a workloadRef has no template": {
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
`,
			check: func(t *testing.T, w Workload) {
				if w.Template == nil || len(w.Template.Spec.Containers) != 0 {
					t.Errorf("template = %+v, want an empty one", w.Template)
				}
				if w.Selector != nil {
					t.Errorf("selector = %v, want none", w.Selector)
				}
			},
		},
		"replicas that are no number": {
			yaml: "metadata: {name: web, namespace: shop}\nspec: {replicas: three}\n",
			err:  "Rollout shop/web:",
		},
		"a request that is no quantity": {
			yaml: "metadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: app, resources: {requests: {cpu: lots}}}]\n",
			err:  "spec.template (a pod template)",
		},
		"containers that are no list": {
			yaml: "metadata: {name: web, namespace: shop}\nspec: {template: {spec: {containers: {name: app}}}}\n",
			err:  "Rollout shop/web:",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.yaml), &obj); err != nil {
				t.Fatal(err)
			}
			w, err := WorkloadFromUnstructured(rolloutKind, obj)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, w)
		})
	}
}

// A listed custom kind is judged by requests-required exactly as a
// Deployment with the same template, and an HPA that scales it by
// target-requests.
func TestCustomWorkloadRules(t *testing.T) {
	s := Defaults()
	s.WorkloadKinds = []WorkloadKind{rolloutKind}
	var obj map[string]any
	doc := `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, resources: {requests: {cpu: 100m}}}]
`
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	w, err := WorkloadFromUnstructured(rolloutKind, obj)
	if err != nil {
		t.Fatal(err)
	}
	fs := EvaluateWorkload(WorkloadReview{Object: w}, &s)
	if len(fs) != 1 || fs[0].Rule != RequestsRequired || fs[0].Action != Deny || !strings.Contains(fs[0].Message, "memory") {
		t.Errorf("Rollout findings = %v, want requests-required denying the memory request", fs)
	}

	c := NewStaticCluster()
	c.AddWorkload(w)
	hpa := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "web"}
	})
	var found bool
	for _, f := range EvaluateHPA(HPAReview{Object: hpa, Final: true, Cluster: c}, &s).Findings {
		found = found || (f.Rule == TargetRequests && f.Action == Deny && strings.Contains(f.Message, `"app"`))
	}
	if !found {
		t.Errorf("an HPA on the listed Rollout lacking a memory request was not denied by target-requests")
	}

	unlisted := Defaults()
	for _, f := range EvaluateHPA(HPAReview{Object: hpa, Final: true, Cluster: c}, &unlisted).Findings {
		if f.Rule == TargetRequests || f.Rule == TargetExists {
			t.Errorf("an HPA on an unlisted Rollout got %v", f)
		}
	}
}
