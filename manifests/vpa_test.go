package manifests

import (
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
)

// vpaFiles are a Deployment, its HPA on cpu and a VPA of it with the given
// updatePolicy and resourcePolicy.
func vpaFiles(vpaSpec string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: nginx, resources: {requests: {cpu: 100m, memory: 128Mi}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: web-vpa, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
` + vpaSpec
}

// TestVPAsInFilesAreTheCluster: a VPA among the files conflicts with the
// HPA beside it, from both documents, as the webhook would say of either
// write with the other stored.
func TestVPAsInFilesAreTheCluster(t *testing.T) {
	tests := map[string]struct {
		vpaSpec string
		// conflicts are the documents (HPA, VPA) with an hpa-vpa-conflict
		// finding.
		hpa, vpa bool
	}{
		"Recreate":    {"  updatePolicy: {updateMode: Recreate}\n", true, true},
		"default":     {"", true, true},
		"Off":         {"  updatePolicy: {updateMode: \"Off\"}\n", false, false},
		"Initial":     {"  updatePolicy: {updateMode: Initial}\n", false, false},
		"memory only": {"  resourcePolicy: {containerPolicies: [{containerName: '*', controlledResources: [memory]}]}\n", false, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			docs, err := Parse("vpa.yaml", []byte(vpaFiles(tc.vpaSpec)))
			if err != nil {
				t.Fatal(err)
			}
			s := policies.Defaults()
			report, err := Check(docs, &s)
			if err != nil {
				t.Fatal(err)
			}
			has := func(i int) bool {
				for _, f := range report.Results[i].Findings {
					if f.Rule == policies.HPAVPAConflict && f.Action == policies.Deny && strings.Contains(f.Message, `"web-vpa"`) {
						return true
					}
				}
				return false
			}
			if has(1) != tc.hpa || has(2) != tc.vpa {
				t.Errorf("conflict on the HPA %v, on the VPA %v; want %v, %v\n%v", has(1), has(2), tc.hpa, tc.vpa, report.Results)
			}
		})
	}
}

func TestBadVPAIsAnError(t *testing.T) {
	docs, err := Parse("bad.yaml", []byte("apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: x}\nspec: {updatePolicy: {updateMode: [Off]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	_, err = Check(docs, &s)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml#1") || !strings.Contains(err.Error(), "VerticalPodAutoscaler x") {
		t.Errorf("want an error naming the document and the object, got %v", err)
	}
}
