package manifests

import (
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

// kedaFiles are a Deployment requesting memory only, an HPA of another
// Deployment and a ScaledObject of each.
const kedaFiles = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, annotations: {scaleguard.io/exempt: requests-required, scaleguard.io/exempt-reason: test}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: nginx, resources: {requests: {memory: 128Mi}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 5
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 1
  triggers:
  - {type: cpu, metricType: Utilization, metadata: {value: '70'}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {kind: Deployment, name: api}
  minReplicaCount: 2
  triggers:
  - {type: kafka, metadata: {topic: orders}}
`

// TestScaledObjectsInFilesAreTheCluster: check judges ScaledObjects
// against the files as the cluster, and the HPA against them.
func TestScaledObjectsInFilesAreTheCluster(t *testing.T) {
	docs, err := Parse("keda.yaml", []byte(kedaFiles))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	report, err := Check(docs, &s)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string][]string{}
	for _, r := range report.Results {
		for _, f := range r.Findings {
			rules[r.Doc.Kind+"/"+r.Doc.Name] = append(rules[r.Doc.Kind+"/"+r.Doc.Name], f.Rule+" "+string(f.Action))
		}
	}
	for obj, want := range map[string]string{
		"ScaledObject/web":            "min-replicas warn,behavior-defaults warn,target-requests deny",
		"ScaledObject/api":            "behavior-defaults warn,duplicate-hpa deny",
		"HorizontalPodAutoscaler/api": "duplicate-hpa deny",
	} {
		got := strings.Join(rules[obj], ",")
		if !strings.Contains(got, want) {
			t.Errorf("%s: %s, want %s", obj, got, want)
		}
	}
	if report.Results[2].Fixed != nil {
		t.Error("check --fix would rewrite a ScaledObject")
	}
}

func TestBadScaledObjectIsAParseError(t *testing.T) {
	docs, err := Parse("bad.yaml", []byte("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web}\nspec: {minReplicaCount: two}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	if _, err := Check(docs, &s); err == nil || !strings.Contains(err.Error(), "ScaledObject web") || !strings.Contains(err.Error(), "minReplicaCount") {
		t.Errorf("got %v, want an error naming the object and the field", err)
	}
}
