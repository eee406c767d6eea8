package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	admissionv1 "k8s.io/api/admission/v1"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/internal/patch"
)

// FuzzHPAMutator feeds arbitrary objects through decode, the rules and the
// patch: no input may make a handler fail internally (the handler turns a
// panic into a 500, which this target treats as a failure), and whatever it
// patches must be stable: the patched object gets no further patch.
func FuzzHPAMutator(f *testing.F) {
	f.Add(minimalHPA)
	f.Add(`{"spec":{"maxReplicas":1,"minReplicas":0,"behavior":{"scaleUp":{"selectPolicy":"Disabled"}}}}`)
	f.Add(`{"spec":{"maxReplicas":3,"behavior":{"scaleDown":{"policies":[{"type":"Percent","value":90,"periodSeconds":15}]}}}}`)
	f.Add(`{"spec":{"metrics":[{"type":"ContainerResource"},{"type":"Resource"}]}}`)
	mutator, validator, _, _ := handlers()
	f.Fuzz(func(t *testing.T, object string) {
		resp := mutator.Handle(context.Background(), request(hpaV2, object))
		if !resp.Allowed {
			t.Fatalf("mutator must fail open, got %d: %s", resp.Result.Code, resp.Result.Message)
		}
		for _, w := range resp.Warnings {
			if strings.Contains(w, "this is a bug") {
				t.Fatalf("mutator failed internally: %s", w)
			}
		}
		if v := validator.Handle(context.Background(), request(hpaV2, object)); !v.Allowed && v.Result.Code == http.StatusInternalServerError {
			t.Fatalf("validator failed: %s", v.Result.Message)
		}
		if len(resp.Patches) == 0 {
			return
		}
		patched, err := patch.Apply([]byte(object), resp.Patches)
		if err != nil {
			t.Fatalf("patch does not apply to its own object: %v", err)
		}
		again := mutator.Handle(context.Background(), request(hpaV2, string(patched)))
		if len(again.Patches) != 0 {
			t.Fatalf("patched object patched again: %v\n%s", again.Patches, patched)
		}
	})
}

// FuzzWorkloadValidator checks that no Deployment makes the validator fail
// internally.
func FuzzWorkloadValidator(f *testing.F) {
	f.Add(deploymentNoRequests)
	f.Add(deploymentWithRequests)
	f.Add(`{"metadata":{"annotations":{"scaleguard.io/exempt":"*,,x"}},"spec":{"template":{"spec":{"initContainers":[{"restartPolicy":"Always"}],"resources":{}}}}}`)
	_, _, validator, _ := handlers()
	f.Fuzz(func(t *testing.T, object string) {
		resp := validator.Handle(context.Background(), request(deployment, object))
		if !resp.Allowed && resp.Result.Code == http.StatusInternalServerError {
			t.Fatalf("validator failed: %s", resp.Result.Message)
		}
	})
}

// FuzzReviewBody feeds arbitrary bodies to the HTTP path the API server
// calls: every answer is a well-formed AdmissionReview, and nothing fails
// internally.
func FuzzReviewBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"autoscaling","version":"v2","kind":"HorizontalPodAutoscaler"},"operation":"CREATE","object":` + minimalHPA + `}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"UPDATE","object":` + deploymentNoRequests + `,"oldObject":{}}}`))
	f.Add([]byte(`{"request":{"object":null}}`))
	mutator, hpaValidator, workloadValidator, _ := handlers()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, h := range []any{mutator, hpaValidator, workloadValidator} {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.(http.Handler).ServeHTTP(rec, req)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("not a review: %v %s", err, rec.Body.String())
			}
			if r := out.Response.Result; r != nil && r.Code == http.StatusInternalServerError {
				t.Fatalf("internal failure: %s", r.Message)
			}
			for _, w := range out.Response.Warnings {
				if strings.Contains(w, "this is a bug") {
					t.Fatalf("internal failure: %s", w)
				}
			}
		}
	})
}
