package harness

import (
	"context"
	"fmt"
	"strings"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// The two requests a user makes after installing scaleguard, through the
// real kubectl: a bare HPA comes back patched, a Deployment without
// requests is refused.

// HPAComesBackPatched dry-runs a bare HPA (no minReplicas, CPU target only)
// in namespace and returns nil when the API server answers with
// scaleguard's patch and its min-replicas warning.
func HPAComesBackPatched(ctx context.Context, bed *testbed.Testbed, namespace string) error {
	hpa := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: ` + namespace + `}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`
	res, err := bed.KubectlStdin(ctx, hpa, "apply", "--dry-run=server", "-o", "yaml", "-f", "-")
	if err != nil {
		return err
	}
	if !strings.Contains(res.Stdout, "minReplicas: 2") || !strings.Contains(res.Stderr, "Warning: [min-replicas]") {
		return fmt.Errorf("not patched:\n%s%s", res.Stdout, res.Stderr)
	}
	return nil
}

// DeploymentWithoutRequestsYAML is a Deployment in namespace whose
// container requests nothing, as a manifest for kubectl.
func DeploymentWithoutRequestsYAML(namespace string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: ` + namespace + `}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: example.com/api:1}]}
`
}

// DeploymentWithoutRequestsRefused dry-runs DeploymentWithoutRequestsYAML
// and returns nil when scaleguard's validating webhook refuses it.
func DeploymentWithoutRequestsRefused(ctx context.Context, bed *testbed.Testbed, namespace string) error {
	res, err := bed.KubectlStdin(ctx, DeploymentWithoutRequestsYAML(namespace), "apply", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(res.Stderr, `"workload.validate.scaleguard.io" denied the request`) {
		return fmt.Errorf("a Deployment without requests was not refused: %v\n%s", err, res.Stderr)
	}
	return nil
}
