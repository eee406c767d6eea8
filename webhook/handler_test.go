package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// minimalHPA is what the API server sends for a v2 HPA written with only a
// target, maxReplicas and a CPU metric: minReplicas defaulted to 1, no
// behavior. The unknown fields stand for a newer API server's additions.
const minimalHPA = `{
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "checkout", "namespace": "shop", "uid": "6d4b"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
    "minReplicas": 1, "maxReplicas": 8,
    "futureField": {"keep": "me"},
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "futureKnob": 3,
      "target": {"type": "Utilization", "averageUtilization": 70}}}]
  }
}`

const deploymentNoRequests = `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "shop"},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
    "template": {"metadata": {"labels": {"app": "api"}},
      "spec": {"containers": [{"name": "api", "image": "example/api:1", "resources": {"requests": {"cpu": "100m"}}}]}}}
}`

const deploymentWithRequests = `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "shop"},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
    "template": {"metadata": {"labels": {"app": "api"}},
      "spec": {"containers": [{"name": "api", "image": "example/api:1", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}
}`

var (
	hpaV2      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
	hpaV1      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"}
	deployment = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

type reqOpt func(*admission.Request)

func reviewOf(kind metav1.GroupVersionKind, object string, opts ...reqOpt) admission.Request {
	r := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "req-1", Kind: kind, RequestKind: &kind, Namespace: "shop", Name: "checkout",
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(object)},
	}}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func asV1(r *admission.Request)   { r.RequestKind = &hpaV1 }
func dryRun(r *admission.Request) { r.DryRun = ptr.To(true) }
func update(old string) reqOpt {
	return func(r *admission.Request) {
		r.Operation = admissionv1.Update
		r.OldObject = runtime.RawExtension{Raw: []byte(old)}
	}
}

func handlers() (mutator, hpaValidator, workloadValidator http.Handler, m *Metrics) {
	s := policies.Defaults()
	src := StaticSettings{S: &s}
	m = NewMetrics()
	return NewHPAMutator(src, nil, m, logr.Discard()), NewHPAValidator(src, nil, m, logr.Discard()), NewWorkloadValidator(src, nil, m, logr.Discard()), m
}

// opsJSON renders operations sorted by path, with object keys sorted
// inside values; neither order carries meaning here, since no two
// operations touch the same path.
func opsJSON(t *testing.T, ops []patch.Operation) string {
	t.Helper()
	ops = append([]patch.Operation(nil), ops...)
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path < ops[j].Path })
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if b, err = json.Marshal(generic); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHPAMutatorPatch(t *testing.T) {
	mutator, validator, _, _ := handlers()
	resp := call(t, mutator, reviewOf(hpaV2, minimalHPA))
	if !resp.Allowed {
		t.Fatalf("mutator must not deny: %+v", resp.Result)
	}
	want := `[{"op":"add","path":"/spec/behavior","value":{"scaleDown":{"policies":[{"periodSeconds":60,"type":"Percent","value":50}],"selectPolicy":"Max","stabilizationWindowSeconds":300},"scaleUp":{"policies":[{"periodSeconds":30,"type":"Percent","value":100},{"periodSeconds":30,"type":"Pods","value":2}],"selectPolicy":"Max","stabilizationWindowSeconds":0}}},` +
		`{"op":"add","path":"/spec/metrics/1","value":{"resource":{"name":"memory","target":{"averageUtilization":80,"type":"Utilization"}},"type":"Resource"}},` +
		`{"op":"replace","path":"/spec/minReplicas","value":2}]`
	if got := opsJSON(t, resp.Patches); got != want {
		t.Errorf("patch:\n got %s\nwant %s", got, want)
	}
	wantWarnings := []string{
		"[min-replicas] spec.minReplicas: raised minReplicas from 1 to 2",
		"[memory-target] spec.metrics: added a memory target of 80% average utilization",
		"[behavior-defaults] spec.behavior: added the standard behavior (scale up fast, down slowly)",
	}
	if strings.Join(resp.Warnings, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings:\n got %q\nwant %q", resp.Warnings, wantWarnings)
	}

	// The API server applies the patch to the full JSON: unknown fields survive.
	patched, err := patch.Apply([]byte(minimalHPA), resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(patched, &obj); err != nil {
		t.Fatal(err)
	}
	spec := obj["spec"].(map[string]any)
	if spec["futureField"] == nil || spec["metrics"].([]any)[0].(map[string]any)["resource"].(map[string]any)["futureKnob"] == nil {
		t.Errorf("unknown fields lost: %s", patched)
	}

	// A second pass (reinvocation) yields no patch and no warning; the
	// validating webhook admits the result without a word.
	again := call(t, mutator, reviewOf(hpaV2, string(patched)))
	if !again.Allowed || len(again.Patches) != 0 || len(again.Warnings) != 0 {
		t.Errorf("second pass: allowed=%v patches=%v warnings=%v", again.Allowed, again.Patches, again.Warnings)
	}
	final := call(t, validator, reviewOf(hpaV2, string(patched)))
	if !final.Allowed || len(final.Warnings) != 0 {
		t.Errorf("validating the patched HPA: allowed=%v result=%+v warnings=%v", final.Allowed, final.Result, final.Warnings)
	}
}

func TestHandlers(t *testing.T) {
	mutator, hpaValidator, workloadValidator, _ := handlers()
	tests := map[string]struct {
		handler http.Handler
		req     admission.Request
		allowed bool
		code    int32
		// message and warnings hold these substrings.
		message  []string
		warnings []string
	}{
		"v1 HPA refused with the v2 form": {
			handler: hpaValidator, req: reviewOf(hpaV2, minimalHPA, asV1), code: http.StatusForbidden,
			message: []string{"scaleguard refused HorizontalPodAutoscaler shop/checkout", "[hpa-api-version] apiVersion:", "write apiVersion: autoscaling/v2"},
		},
		"HPA whose mutation was skipped is refused with the fix": {
			handler: hpaValidator, req: reviewOf(hpaV2, minimalHPA), code: http.StatusForbidden,
			message: []string{"[min-replicas] spec.minReplicas: minReplicas is 1; set spec.minReplicas: 2", "[memory-target]", "[behavior-defaults]", "mutation was not applied"},
		},
		"dry run gets the same verdict": {
			handler: hpaValidator, req: reviewOf(hpaV2, minimalHPA, dryRun), code: http.StatusForbidden,
			message: []string{"[min-replicas]"},
		},
		"Deployment without a memory request is refused": {
			handler: workloadValidator, req: reviewOf(deployment, deploymentNoRequests), code: http.StatusForbidden,
			message: []string{"scaleguard refused Deployment shop/checkout", "spec.template.spec.containers[0].resources.requests", `container "api" requests no memory`},
		},
		"Deployment with requests is admitted": {
			handler: workloadValidator, req: reviewOf(deployment, deploymentWithRequests), allowed: true,
		},
		"update of an old violator is admitted with a warning": {
			handler: workloadValidator, req: reviewOf(deployment, deploymentNoRequests, update(deploymentNoRequests)), allowed: true,
			warnings: []string{"allowExistingViolations"},
		},
		"update that drops a request is refused": {
			handler: workloadValidator, req: reviewOf(deployment, deploymentNoRequests, update(deploymentWithRequests)), code: http.StatusForbidden,
		},
		"exempt namespace is skipped": {
			handler: workloadValidator, req: reviewOf(deployment, deploymentNoRequests, func(r *admission.Request) { r.Namespace = "kube-system" }), allowed: true,
		},
		"subresource is never judged": {
			handler: hpaValidator, req: reviewOf(hpaV2, minimalHPA, func(r *admission.Request) { r.SubResource = "status" }), allowed: true,
		},
		"delete is never judged": {
			handler: workloadValidator, req: reviewOf(deployment, "", func(r *admission.Request) { r.Operation = admissionv1.Delete }), allowed: true,
		},
		"malformed object is a 400 naming the object": {
			handler: hpaValidator, req: reviewOf(hpaV2, `{"spec": {"maxReplicas": "ten"}}`), code: http.StatusBadRequest,
			message: []string{"HorizontalPodAutoscaler shop/checkout", "request.object is not valid"},
		},
		"the mutator fails open, with a warning": {
			handler: mutator, req: reviewOf(hpaV2, `{"spec": {"maxReplicas": "ten"}}`), allowed: true,
			warnings: []string{"scaleguard did not mutate: HorizontalPodAutoscaler shop/checkout: request.object is not valid"},
		},
		"empty object is a 400": {
			handler: workloadValidator, req: reviewOf(deployment, ""), code: http.StatusBadRequest,
			message: []string{"request.object is empty"},
		},
		"wrong kind at the HPA path is a 400": {
			handler: hpaValidator, req: reviewOf(deployment, deploymentWithRequests), code: http.StatusBadRequest,
			message: []string{"expects autoscaling/v2 HorizontalPodAutoscaler", "matchPolicy: Equivalent"},
		},
		"wrong kind at the workload path is a 400": {
			handler: workloadValidator, req: reviewOf(hpaV2, minimalHPA), code: http.StatusBadRequest,
			message: []string{"expects an apps/v1 Deployment or StatefulSet"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := call(t, tc.handler, tc.req)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, tc.allowed, resp.Result)
			}
			if !tc.allowed && resp.Result.Code != tc.code {
				t.Errorf("code = %d, want %d (%s)", resp.Result.Code, tc.code, resp.Result.Message)
			}
			for _, m := range tc.message {
				if resp.Result == nil || !strings.Contains(resp.Result.Message, m) {
					t.Errorf("message does not mention %q: %+v", m, resp.Result)
				}
			}
			for _, w := range tc.warnings {
				if !strings.Contains(strings.Join(resp.Warnings, "\n"), w) {
					t.Errorf("warnings %q do not mention %q", resp.Warnings, w)
				}
			}
		})
	}
}

func TestDecisionsAreCounted(t *testing.T) {
	_, _, workloadValidator, m := handlers()
	call(t, workloadValidator, reviewOf(deployment, deploymentNoRequests, dryRun))
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "scaleguard_decisions_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["rule"] == "requests-required" && labels["action"] == "deny" && labels["kind"] == "Deployment" &&
				labels["operation"] == "CREATE" && labels["dry_run"] == "true" && metric.GetCounter().GetValue() == 1 {
				return
			}
		}
	}
	t.Fatal("no scaleguard_decisions_total{rule=requests-required,action=deny,kind=Deployment,operation=CREATE,dry_run=true} = 1")
}

func TestRefusalsAreCountedByNamespace(t *testing.T) {
	_, _, workloadValidator, m := handlers()
	inNamespace := func(ns string) reqOpt { return func(r *admission.Request) { r.Namespace = ns } }
	call(t, workloadValidator, reviewOf(deployment, deploymentNoRequests, inNamespace("team-a")))
	call(t, workloadValidator, reviewOf(deployment, deploymentNoRequests, inNamespace("team-a"), dryRun))
	call(t, workloadValidator, reviewOf(deployment, deploymentNoRequests, inNamespace("team-b")))
	// Admitted, so not a refusal.
	call(t, workloadValidator, reviewOf(deployment, deploymentWithRequests, inNamespace("team-c")))
	got := refusalCounts(t, m)
	want := map[[2]string]float64{{"team-a", "false"}: 1, {"team-a", "true"}: 1, {"team-b", "false"}: 1}
	if len(got) != len(want) {
		t.Fatalf("refusals = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("refusals%v = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestRefusalNamespacesAreCapped(t *testing.T) {
	r := newRefusals()
	for i := range maxRefusalNamespaces {
		r.inc(fmt.Sprintf("ns-%d", i), false)
	}
	r.inc("one-too-many", false)
	r.inc("another", true)
	r.inc("ns-0", false) // seen before the cap: keeps its own series
	if got := testutil.CollectAndCount(r.counter); got != maxRefusalNamespaces+2 {
		t.Errorf("%d series, want %d (one per namespace under the cap, two _other)", got, maxRefusalNamespaces+2)
	}
	if got := testutil.ToFloat64(r.counter.WithLabelValues(otherNamespaces, "false")); got != 1 {
		t.Errorf("_other,false = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.counter.WithLabelValues("ns-0", "false")); got != 2 {
		t.Errorf("ns-0 = %v, want 2", got)
	}
}

func refusalCounts(t *testing.T, m *Metrics) map[[2]string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]float64{}
	for _, f := range families {
		if f.GetName() != "scaleguard_admission_refusals_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[[2]string{labels["namespace"], labels["dry_run"]}] = metric.GetCounter().GetValue()
		}
	}
	return got
}
