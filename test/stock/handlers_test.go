package stock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/webhook"
)

var (
	hpaV2      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
	hpaV1      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"}
	deployment = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

// minimalHPA is an HPA as a newer API server sends it: defaulted, without
// behavior or memory target, and with fields this module's Go types do not
// know (futureField, futureKnob).
const minimalHPA = `{
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "checkout", "namespace": "shop"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
    "minReplicas": 1, "maxReplicas": 8,
    "futureField": {"keep": "me"},
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "futureKnob": 3,
      "target": {"type": "Utilization", "averageUtilization": 70}}}]
  }
}`

const standardHPA = `{
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "checkout", "namespace": "shop"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
    "minReplicas": 2, "maxReplicas": 8,
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}],
    "behavior": {
      "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
      "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}, {"type": "Pods", "value": 2, "periodSeconds": 30}]}}
  },
  "status": {"currentMetrics": null, "desiredReplicas": 0}
}`

func deploymentJSON(requests string) string {
	return `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "shop"},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
    "template": {"metadata": {"labels": {"app": "api"}},
      "spec": {"containers": [{"name": "api", "image": "example/api:1", "resources": {"requests": ` + requests + `}}]}}}}`
}

// serve sends one AdmissionReview through h over HTTP, as the API server does.
func serve(t *testing.T, h http.Handler, kind metav1.GroupVersionKind, requestKind metav1.GroupVersionKind, object, old string) *admissionv1.AdmissionResponse {
	t.Helper()
	req := &admissionv1.AdmissionRequest{
		UID: "7c1e", Kind: kind, RequestKind: &requestKind, Namespace: "shop", Name: "checkout",
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(object)},
	}
	if old != "" {
		req.Operation, req.OldObject = admissionv1.Update, runtime.RawExtension{Raw: []byte(old)}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	hreq := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	hreq.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, hreq)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
	return out.Response
}

// patched applies a response's JSON patch to the document, as the API server does.
func patched(t *testing.T, doc string, resp *admissionv1.AdmissionResponse) map[string]any {
	t.Helper()
	out := []byte(doc)
	if len(resp.Patch) > 0 {
		var ops []patch.Operation
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
		var err error
		if out, err = patch.Apply(out, ops); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type scaleguardHandlers struct{ mutate, validateHPA, validateWorkload http.Handler }

func newScaleguard(s *policies.Settings) scaleguardHandlers {
	src := webhook.StaticSettings{S: s}
	return scaleguardHandlers{
		mutate:           webhook.NewHPAMutator(src, nil, nil, logr.Discard()),
		validateHPA:      webhook.NewHPAValidator(src, nil, nil, logr.Discard()),
		validateWorkload: webhook.NewWorkloadValidator(src, nil, nil, logr.Discard()),
	}
}

// TestUnknownFields shows what happens to fields the Go types do not know
// when the API server applies each mutator's patch.
func TestUnknownFields(t *testing.T) {
	s := policies.Defaults()
	stock, err := NewHandlers(&s)
	if err != nil {
		t.Fatal(err)
	}
	pruning, err := NewHandlers(&s, admission.DefaulterRemoveUnknownOrOmitableFields)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		h          http.Handler
		keeps      bool
		addsStatus bool
		warns      bool
	}{
		"scaleguard": {h: newScaleguard(&s).mutate, keeps: true, warns: true},
		// controller-runtime >= v0.20 drops the removals its own decoding causes.
		"stock defaulter": {h: stock.MutateHPA, keeps: true, addsStatus: true},
		// The pre-v0.20 behaviour, still one option away.
		"stock defaulter, DefaulterRemoveUnknownOrOmitableFields": {h: pruning.MutateHPA, keeps: false, addsStatus: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := serve(t, tc.h, hpaV2, hpaV2, minimalHPA, "")
			if !resp.Allowed || len(resp.Patch) == 0 {
				t.Fatalf("want an admission with a patch, got allowed=%v patch=%s", resp.Allowed, resp.Patch)
			}
			obj := patched(t, minimalHPA, resp)
			spec := obj["spec"].(map[string]any)
			_, future := spec["futureField"]
			_, knob := spec["metrics"].([]any)[0].(map[string]any)["resource"].(map[string]any)["futureKnob"]
			if future != tc.keeps || knob != tc.keeps {
				t.Errorf("futureField kept: %v, futureKnob kept: %v; want %v\npatch: %s", future, knob, tc.keeps, resp.Patch)
			}
			if _, status := obj["status"]; status != tc.addsStatus {
				t.Errorf("status added: %v, want %v\npatch: %s", status, tc.addsStatus, resp.Patch)
			}
			if warned := len(resp.Warnings) > 0; warned != tc.warns {
				t.Errorf("warnings %q, want some: %v", resp.Warnings, tc.warns)
			}
		})
	}
}

// TestSameVerdicts checks that the stock handlers run the same rules as
// scaleguard's: same admission or denial, and the same object once patched.
func TestSameVerdicts(t *testing.T) {
	s := policies.Defaults()
	stock, err := NewHandlers(&s)
	if err != nil {
		t.Fatal(err)
	}
	sg := newScaleguard(&s)
	withRequests, withoutMemory := deploymentJSON(`{"cpu": "100m", "memory": "128Mi"}`), deploymentJSON(`{"cpu": "100m"}`)
	tests := map[string]struct {
		stock, scaleguard http.Handler
		kind, requestKind metav1.GroupVersionKind
		object, old       string
		allowed           bool
		denial            string
	}{
		"mutate a minimal HPA":          {stock.MutateHPA, sg.mutate, hpaV2, hpaV2, minimalHPA, "", true, ""},
		"mutate a standard HPA":         {stock.MutateHPA, sg.mutate, hpaV2, hpaV2, standardHPA, minimalHPA, true, ""},
		"validate a standard HPA":       {stock.ValidateHPA, sg.validateHPA, hpaV2, hpaV2, standardHPA, standardHPA, true, ""},
		"validate an HPA written as v1": {stock.ValidateHPA, sg.validateHPA, hpaV2, hpaV1, standardHPA, "", false, "[hpa-api-version]"},
		"validate a minimal HPA":        {stock.ValidateHPA, sg.validateHPA, hpaV2, hpaV2, minimalHPA, "", false, "[min-replicas]"},
		"Deployment with requests":      {stock.ValidateDeployment, sg.validateWorkload, deployment, deployment, withRequests, withRequests, true, ""},
		"Deployment loses its memory request": {stock.ValidateDeployment, sg.validateWorkload, deployment, deployment,
			withoutMemory, withRequests, false, "[requests-required]"},
		"Deployment that already lacked it": {stock.ValidateDeployment, sg.validateWorkload, deployment, deployment,
			withoutMemory, withoutMemory, true, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := serve(t, tc.stock, tc.kind, tc.requestKind, tc.object, tc.old)
			b := serve(t, tc.scaleguard, tc.kind, tc.requestKind, tc.object, tc.old)
			for who, r := range map[string]*admissionv1.AdmissionResponse{"stock": a, "scaleguard": b} {
				if r.Allowed != tc.allowed {
					t.Errorf("%s: allowed = %v, want %v (%+v)", who, r.Allowed, tc.allowed, r.Result)
				}
				if tc.denial != "" && (r.Result == nil || !strings.Contains(r.Result.Message, tc.denial)) {
					t.Errorf("%s: denial %+v does not name %s", who, r.Result, tc.denial)
				}
			}
			if tc.kind != hpaV2 || !tc.allowed {
				return
			}
			var fromStock, fromScaleguard autoscalingv2.HorizontalPodAutoscaler
			decodeInto(t, patched(t, tc.object, a), &fromStock)
			decodeInto(t, patched(t, tc.object, b), &fromScaleguard)
			if !apiequality.Semantic.DeepEqual(fromStock.Spec, fromScaleguard.Spec) {
				t.Errorf("patched specs differ:\nstock      %+v\nscaleguard %+v", fromStock.Spec, fromScaleguard.Spec)
			}
		})
	}
}

func decodeInto(t *testing.T, m map[string]any, into any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}
