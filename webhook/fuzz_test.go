package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/scaleguard/scaleguard/internal/patch"
)

// FuzzHPAMutator feeds arbitrary objects, inside an AdmissionReview,
// through ServeHTTP, the path the API server calls: no input may make a
// handler fail internally (an HTTP 500, which a panic becomes), and
// whatever the mutator patches must be stable: the patch applies to its
// own object, and the patched object gets no further patch.
func FuzzHPAMutator(f *testing.F) {
	f.Add(minimalHPA)
	f.Add(`{"spec":{"maxReplicas":1,"minReplicas":0,"behavior":{"scaleUp":{"selectPolicy":"Disabled"}}}}`)
	f.Add(`{"spec":{"maxReplicas":3,"behavior":{"scaleDown":{"policies":[{"type":"Percent","value":90,"periodSeconds":15}]}}}}`)
	f.Add(`{"spec":{"metrics":[{"type":"ContainerResource"},{"type":"Resource"}]}}`)
	mutator, validator, _, _ := handlers()
	f.Fuzz(func(t *testing.T, object string) {
		code, resp := serveReview(t, mutator, reviewOf(hpaV2, object))
		switch {
		case code == http.StatusBadRequest:
			return // not JSON: the review around it is not one either
		case code != http.StatusOK:
			t.Fatalf("mutator answered HTTP %d: %s", code, resp.Result.Message)
		case !resp.Allowed:
			t.Fatalf("mutator must fail open, got %d: %s", resp.Result.Code, resp.Result.Message)
		}
		if code, v := serveReview(t, validator, reviewOf(hpaV2, object)); code != http.StatusOK {
			t.Fatalf("validator answered HTTP %d: %s", code, v.Result.Message)
		}
		if len(resp.Patches) == 0 {
			return
		}
		patched, err := patch.Apply([]byte(object), resp.Patches)
		if err != nil {
			t.Fatalf("patch does not apply to its own object: %v", err)
		}
		again := call(t, mutator, reviewOf(hpaV2, string(patched)))
		if len(again.Patches) != 0 {
			t.Fatalf("patched object patched again: %v\n%s", again.Patches, patched)
		}
	})
}

// FuzzWorkloadValidator checks, through ServeHTTP, that no Deployment
// makes the validator fail internally.
func FuzzWorkloadValidator(f *testing.F) {
	f.Add(deploymentNoRequests)
	f.Add(deploymentWithRequests)
	f.Add(`{"metadata":{"annotations":{"scaleguard.io/exempt":"*,,x"}},"spec":{"template":{"spec":{"initContainers":[{"restartPolicy":"Always"}],"resources":{}}}}}`)
	_, _, validator, _ := handlers()
	f.Fuzz(func(t *testing.T, object string) {
		if code, resp := serveReview(t, validator, reviewOf(deployment, object)); code != http.StatusOK && code != http.StatusBadRequest {
			t.Fatalf("validator answered HTTP %d: %s", code, resp.Result.Message)
		}
	})
}

// FuzzReviewBody feeds arbitrary bodies to the HTTP path the API server
// calls: every answer is a well-formed AdmissionReview, or an HTTP 4xx for a body that is not a review; nothing
// fails internally.
func FuzzReviewBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"autoscaling","version":"v2","kind":"HorizontalPodAutoscaler"},"operation":"CREATE","object":` + minimalHPA + `}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"UPDATE","object":` + deploymentNoRequests + `,"oldObject":{}}}`))
	f.Add([]byte(`{"request":{"object":null}}`))
	mutator, hpaValidator, workloadValidator, _ := handlers()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, h := range []http.Handler{mutator, hpaValidator, workloadValidator} {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 400 && rec.Code < 500 {
				continue
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || out.Kind != "AdmissionReview" {
				t.Fatalf("not a review: %v %s", err, rec.Body.String())
			}
		}
	})
}
