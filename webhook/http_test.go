package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// TestObjectInPlace: readAs decodes the object and points Object.Raw at
// exactly its bytes in the body, whatever the white space around them.
func TestObjectInPlace(t *testing.T) {
	for request, want := range map[string]string{
		`{"uid":"u","object":{"kind":"Deployment","spec":{"replicas":2}}}`:            `{"kind":"Deployment","spec":{"replicas":2}}`,
		"{\"object\" : \n\t{\"spec\":{\"replicas\":2}} ,\"uid\":\"u\"}":               `{"spec":{"replicas":2}}`,
		`{"uid":"u","object":null}`:                                                   ``,
		`{"uid":"u"}`:                                                                 ``,
		`{"uid":"u","object":{"spec":{"replicas":2}},"oldObject":{"spec":{"x":"}"}}}`: `{"spec":{"replicas":2}}`,
	} {
		req, _, err := readAs[workloadDocument](inEnvelope(request))
		if err != nil {
			t.Fatalf("%s: %v", request, err)
		}
		if got := string(req.Object.Raw); got != want || req.UID != "u" {
			t.Errorf("%s: object %q, uid %q; want %q, u", request, got, req.UID, want)
		}
		doc, err := req.obj()
		if want == "" {
			if err == nil || doc != nil {
				t.Errorf("%s: a document without an object", request)
			}
			continue
		}
		if err != nil || doc.Spec == nil || doc.Spec.Replicas == nil || *doc.Spec.Replicas != 2 {
			t.Errorf("%s: decoded %#v, %v", request, doc, err)
		}
	}
	if _, _, err := readAs[workloadDocument](inEnvelope(`{"object":{"spec":}}`)); err == nil {
		t.Error("a syntax error in the object was accepted as a review")
	}
	// An object of the wrong shape is the object's fault: the review is
	// read, the object's error kept for the answer.
	req, _, err := readAs[workloadDocument](inEnvelope(`{"uid":"u","object":{"spec":{"replicas":"two"}}}`))
	if err != nil || req.UID != "u" || req.objectErr == nil || !strings.Contains(req.objectErr.Error(), "/request/object/spec/replicas") {
		t.Errorf("an object of the wrong shape: %+v, %v", req, err)
	}
}

// TestPatchFitsTheObjectAsSent: a mutator fits its patch to the object's
// bytes in the body, however the API server spaces the review around them:
// the same patch as for the compact review, and it applies to the object.
func TestPatchFitsTheObjectAsSent(t *testing.T) {
	s := policies.Defaults()
	s.Rules.HPAReplicasConflict.Action = policies.Mutate
	src := StaticSettings{S: &s}
	c := policies.NewStaticCluster()
	c.AddHPA(hpaOn("api", "api"))
	hpaMutator := NewHPAMutator(src, nil, NewMetrics(), logr.Discard())
	workloadMutator := NewWorkloadMutator(src, c, NewMetrics(), logr.Discard())
	for name, tc := range map[string]struct {
		h   http.Handler
		req admission.Request
	}{
		"HPA":              {hpaMutator, reviewOf(hpaV2, minimalHPA)},
		"HPA without spec": {hpaMutator, reviewOf(hpaV2, `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"checkout"}}`)},
		"Deployment":       {workloadMutator, reviewOf(deployment, deploymentReplicas(5), update(deploymentReplicas(3)))},
	} {
		t.Run(name, func(t *testing.T) {
			want := call(t, tc.h, tc.req)
			if len(want.Patches) == 0 {
				t.Fatalf("no patch to compare: %+v %q", want.Result, want.Warnings)
			}
			// The objects after the rest, spaced as an API server may space
			// them.
			body := string(reviewBody(t, tc.req))
			body = strings.Replace(body, `,"object":`, `,"object" :`+"\n\t", 1)
			body = strings.Replace(body, `,"oldObject":`, ` , "oldObject": `, 1)
			rec := httptest.NewRecorder()
			hreq := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			hreq.Header.Set("Content-Type", "application/json")
			tc.h.ServeHTTP(rec, hreq)
			var out struct {
				Response struct {
					Patch []byte `json:"patch"`
				} `json:"response"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			var got []patch.Operation
			if err := json.Unmarshal(out.Response.Patch, &got); err != nil {
				t.Fatalf("patch %s: %v", out.Response.Patch, err)
			}
			if g, w := opsJSON(t, got), opsJSON(t, want.Patches); g != w {
				t.Errorf("patch of the spaced review %s, want %s", g, w)
			}
			if _, err := patch.Apply(tc.req.Object.Raw, got); err != nil {
				t.Errorf("the patch does not apply to the object: %v", err)
			}
		})
	}
}
