package apibench

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// on turns on requests-required as a Kyverno ValidatingPolicy and waits
// until Kyverno refuses a Deployment without requests.
func (k *kyvernoProcess) on(t *testing.T) { k.enable(t, kyvernoValidatingPolicy()) }

// off deletes the ValidatingPolicy and waits until Kyverno no longer
// intercepts Deployments.
func (k *kyvernoProcess) off(t *testing.T) { k.disable(t, kyvernoValidatingPolicy()) }

// onClusterPolicy is on with the rule written as a classic ClusterPolicy
// (a validate pattern, Kyverno's JMESPath-era engine).
func (k *kyvernoProcess) onClusterPolicy(t *testing.T) { k.enable(t, kyvernoClusterPolicy()) }

// offClusterPolicy is off for onClusterPolicy.
func (k *kyvernoProcess) offClusterPolicy(t *testing.T) { k.disable(t, kyvernoClusterPolicy()) }

func (k *kyvernoProcess) enable(t *testing.T, policy *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	if err := k.bed.Client.Create(ctx, policy); err != nil {
		t.Fatalf("creating %s %s: %v", policy.GetKind(), policy.GetName(), err)
	}
	k.waitFor(t, time.Minute, "kyverno refuses a Deployment without requests ("+policy.GetKind()+")", func() error {
		err := k.bed.Client.Create(ctx, harness.Deployment(k.probeNS, "bad", false), client.DryRunAll)
		if err == nil {
			return errors.New("admitted")
		}
		if !strings.Contains(err.Error(), kyvernoRefusal) {
			return err
		}
		return nil
	})
}

func (k *kyvernoProcess) disable(t *testing.T, policy *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	if err := k.bed.Client.Delete(ctx, policy); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting %s %s: %v", policy.GetKind(), policy.GetName(), err)
	}
	k.waitFor(t, time.Minute, "kyverno no longer intercepts Deployments", func() error {
		if err := k.bed.Client.Create(ctx, harness.Deployment(k.probeNS, "bad", false), client.DryRunAll); err != nil {
			return err
		}
		return k.intercepting(ctx)
	})
}

// kyvernoRefusal is what every configuration says when it refuses a
// Deployment without requests.
var kyvernoRefusal = func() string {
	p, _ := requestsPolicy()
	return p.Spec.Validations[0].Message
}()

// kyvernoValidatingPolicy is requests-required as a Kyverno ValidatingPolicy
// (policies.kyverno.io/v1, CEL). Its match, expression and message are those
// of requestsPolicy, so Kyverno and the in-process policy judge alike by
// construction.
func kyvernoValidatingPolicy() *unstructured.Unstructured {
	vap, _ := requestsPolicy()
	spec := map[string]any{}
	b, err := json.Marshal(vap.Spec)
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		panic(err) // a typed struct always round-trips
	}
	spec["validationActions"] = []any{"Deny"}
	// Background scans are the reports controller's, which does not run
	// here; admission is all that is measured.
	spec["evaluation"] = map[string]any{"background": map[string]any{"enabled": false}}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policies.kyverno.io/v1",
		"kind":       "ValidatingPolicy",
		"metadata":   map[string]any{"name": vap.Name},
		"spec":       spec,
	}}
	return u
}

// kyvernoClusterPolicy is requests-required as a classic ClusterPolicy: a
// validate pattern, with a conditional anchor so that only restartable
// (sidecar) init containers must request.
func kyvernoClusterPolicy() *unstructured.Unstructured {
	const manifest = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: requests-required
spec:
  background: false
  rules:
  - name: requests-required
    match:
      any:
      - resources:
          kinds: [apps/v1/Deployment, apps/v1/StatefulSet]
          operations: [CREATE, UPDATE]
    validate:
      failureAction: Enforce
      message: MESSAGE
      pattern:
        spec:
          template:
            spec:
              containers:
              - resources:
                  requests:
                    cpu: "?*"
                    memory: "?*"
              =(initContainers):
              - (restartPolicy): Always
                resources:
                  requests:
                    cpu: "?*"
                    memory: "?*"
`
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(strings.Replace(manifest, "MESSAGE", strconv.Quote(kyvernoRefusal), 1)), &u.Object); err != nil {
		panic(err)
	}
	return u
}

// TestKyvernoRefusesWhatScaleguardRefuses keeps the Kyverno configurations of
// the benchmark fair: each policy must refuse a Deployment without requests,
// admit one with, and, once off, leave no webhook in the way. It needs
// `make kyverno` and skips without it (CI does not build Kyverno).
func TestKyvernoRefusesWhatScaleguardRefuses(t *testing.T) {
	kyvernoDir(t) // skip before starting a control plane for nothing
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	begin := time.Now()
	k := startKyverno(t, bed)
	t.Logf("kyverno (pid %d) serves its webhooks %s after the process started (%s with the CRDs installed first)",
		k.PID(), time.Since(k.started).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	ns := namespace(t, bed.Client, "kyverno-test")
	for _, c := range []struct {
		name    string
		on, off func(*testing.T)
	}{
		{"ValidatingPolicy", k.on, k.off},
		{"ClusterPolicy", k.onClusterPolicy, k.offClusterPolicy},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			c.on(t)
			t.Logf("refusing %s after the policy was created (%s after kyverno started)", time.Since(start).Round(time.Millisecond), time.Since(k.started).Round(time.Millisecond))
			name := strings.ToLower(c.name)
			err := bed.Client.Create(ctx, harness.Deployment(ns, name+"-bad", false))
			if err == nil || !strings.Contains(err.Error(), kyvernoRefusal) {
				t.Errorf("a Deployment without requests: got %v, want refused with %q", err, kyvernoRefusal)
			}
			if err := bed.Client.Create(ctx, harness.Deployment(ns, name+"-good", true)); err != nil {
				t.Errorf("kyverno refused a Deployment with requests: %v", err)
			}
			start = time.Now()
			c.off(t)
			t.Logf("off %s after the policy was deleted", time.Since(start).Round(time.Millisecond))
		})
	}
	if err := k.stop(); err != nil {
		t.Fatal(err)
	}
	if err := k.intercepting(ctx); err != nil {
		t.Errorf("after stop: %v", err)
	}
	var vwcs admissionregistrationv1.ValidatingWebhookConfigurationList
	var mwcs admissionregistrationv1.MutatingWebhookConfigurationList
	if err := bed.Client.List(ctx, &vwcs); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.List(ctx, &mwcs); err != nil {
		t.Fatal(err)
	}
	if n := len(vwcs.Items) + len(mwcs.Items); n != 0 {
		t.Errorf("%d webhook configurations left after stop", n)
	}
	if err := bed.Client.Create(ctx, harness.Deployment(ns, "after-stop", false), client.DryRunAll); err != nil {
		t.Errorf("after stop a Deployment is not admitted: %v", err)
	}
}
