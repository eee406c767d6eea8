package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// reviewBytes is a whole AdmissionReview as the API server sends it.
func reviewBytes(b *testing.B, kind metav1.GroupVersionKind, object string) []byte {
	b.Helper()
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "b7f3", Kind: kind, RequestKind: &kind, Namespace: "shop", Name: "checkout",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(object)},
		},
	}
	out, err := json.Marshal(review)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkDecodeFloor is the least any webhook pays per review: decode the
// AdmissionReview and encode an answer. The handler benchmarks below are
// measured against it.
func BenchmarkDecodeFloor(b *testing.B) {
	body := reviewBytes(b, hpaV2, minimalHPA)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil {
			b.Fatal(err)
		}
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		if _, err := json.Marshal(review); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkHandler serves body through h's ServeHTTP, the path the API
// server calls.
func benchmarkHandler(b *testing.B, h http.Handler, body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkHPAMutate is the full path of a mutating review: HTTP body to
// AdmissionReview, rules, JSON patch, response.
func BenchmarkHPAMutate(b *testing.B) {
	mutator, _, _, _ := handlers()
	benchmarkHandler(b, mutator, reviewBytes(b, hpaV2, minimalHPA))
}

// BenchmarkHPAValidate is the same for the validating review.
func BenchmarkHPAValidate(b *testing.B) {
	_, validator, _, _ := handlers()
	benchmarkHandler(b, validator, reviewBytes(b, hpaV2, minimalHPA))
}

// BenchmarkDeploymentValidate validates a Deployment.
func BenchmarkDeploymentValidate(b *testing.B) {
	_, _, validator, _ := handlers()
	benchmarkHandler(b, validator, reviewBytes(b, deployment, deploymentWithRequests))
}
