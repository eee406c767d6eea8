package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// installVPACRD installs the VerticalPodAutoscaler CRD pinned in
// hack/crds/go.mod, after scaleguard has started: its cluster view must
// notice it without a restart.
func installVPACRD(t *testing.T) {
	t.Helper()
	path, err := testbed.CRDFile("vpa-v1-crd-gen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := kubectl(t, string(crd), "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("installing the VPA CRD: %v\n%s", err, stderr)
	}
	if _, stderr, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=30s",
		"crd/verticalpodautoscalers.autoscaling.k8s.io"); err != nil {
		t.Fatalf("VPA CRD not established: %v\n%s", err, stderr)
	}
}

// vpa is a VerticalPodAutoscaler of Deployment target; spec holds more
// lines of its spec (two spaces in).
func vpa(name, target, spec string) string {
	return fmt.Sprintf(`apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: %s}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
%s`, name, target, spec)
}

func mode(m string) string { return "  updatePolicy: {updateMode: " + m + "}\n" }

func TestHPAVPAConflict(t *testing.T) {
	installVPACRD(t)

	// From the HPA's side: a VPA in Auto mode sets cpu and memory of web;
	// an HPA on cpu is refused, naming the VPA, the resource and the fix.
	ns := namespace(t, nil)
	mustApply(t, ns, workload("web", 2, bothRequests))
	mustApply(t, ns, vpa("web-vpa", "web", mode("Auto")))
	onCPU := hpa("web", "Deployment", "web", utilization("cpu", 70))
	hpaNS := ns
	refused := refusedOnceSeen(t, ns, onCPU,
		`[hpa-vpa-conflict] spec.metrics[0]: HPA "web" scales on cpu, which VerticalPodAutoscaler "web-vpa" (updateMode Auto) also sets for Deployment "web"`)
	mustContain(t, "the refusal", refused, "leave cpu out of the VPA's controlledResources")
	if strings.Contains(refused, "spec.metrics[1]") {
		t.Errorf("memory-target added a memory metric beside a VPA that sets memory:\n%s", refused)
	}

	// From the VPA's side: an HPA on cpu and memory scales api; a VPA in
	// Recreate mode is refused, one in Off or Initial mode, or on a
	// resource the HPA does not measure, is admitted silently.
	ns = namespace(t, nil)
	mustApply(t, ns, workload("api", 2, bothRequests))
	mustApply(t, ns, hpa("api", "Deployment", "api", utilization("cpu", 70), utilization("memory", 80)))
	refused = refusedOnceSeen(t, ns, vpa("api-vpa", "api", mode("Recreate")),
		`[hpa-vpa-conflict] spec.resourcePolicy: VerticalPodAutoscaler "api-vpa" (updateMode Recreate) sets cpu for Deployment "api", which HPA "api" scales on (spec.metrics[0])`)
	mustContain(t, "the refusal", refused, "set the VPA's updateMode to Off or Initial")
	for name, manifest := range map[string]string{
		"Off":     vpa("api-off", "api", mode(`"Off"`)),
		"Initial": vpa("api-initial", "api", mode("Initial")),
		"storage": vpa("api-storage", "api", mode("Recreate")+
			"  resourcePolicy: {containerPolicies: [{containerName: '*', controlledResources: [ephemeral-storage]}]}\n"),
	} {
		if _, stderr := mustApply(t, ns, manifest); strings.Contains(stderr, "scaleguard") || strings.Contains(stderr, "Warning") {
			t.Errorf("VPA %s: admitted with something to say:\n%s", name, stderr)
		}
	}

	// warn: the refused HPA is admitted, with the reason it should not be.
	setSettings(t, "rules:\n  hpa-vpa-conflict:\n    action: warn\n", func() error {
		_, stderr, err := apply(t, hpaNS, onCPU, "--dry-run=server")
		if err == nil {
			return fmt.Errorf("hpa-vpa-conflict is not back to deny yet:\n%s", stderr)
		}
		return nil
	})
	eventually(t, func() error {
		_, stderr, err := apply(t, hpaNS, onCPU, "--dry-run=server")
		if err != nil || !strings.Contains(stderr, "Warning: [hpa-vpa-conflict]") {
			return fmt.Errorf("not a warning yet: %v\n%s", err, stderr)
		}
		return nil
	})
}
