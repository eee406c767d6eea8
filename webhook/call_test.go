package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
)

// reviewBody is the AdmissionReview the API server would send for r: the
// request's fields, then the objects spliced in byte for byte (a test's
// object need not be valid JSON, and its patch must fit its own bytes).
func reviewBody(t testing.TB, r admission.Request) []byte {
	t.Helper()
	req := r.AdmissionRequest
	object, old := req.Object.Raw, req.OldObject.Raw
	req.Object.Raw, req.OldObject.Raw = nil, nil
	fields, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(fields, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "object")
	delete(m, "oldObject")
	if fields, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":`)
	b.Write(fields[:len(fields)-1])
	if len(object) > 0 {
		b.WriteString(`,"object":`)
		b.Write(object)
	}
	if len(old) > 0 {
		b.WriteString(`,"oldObject":`)
		b.Write(old)
	}
	b.WriteString("}}")
	return b.Bytes()
}

// serveReview sends r to h as the API server would, through ServeHTTP, and
// returns the HTTP status and, for a 200, the answer with its patch
// decoded into Patches. Another status is returned with its body as the
// answer's message.
func serveReview(t testing.TB, h http.Handler, r admission.Request) (int, admission.Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(reviewBody(t, r)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, admission.Errored(int32(rec.Code), errorText(rec.Body.String()))
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer is not a review: %v\n%s", err, rec.Body)
	}
	if out.Response.UID != r.UID {
		t.Fatalf("answer's uid %q, want %q", out.Response.UID, r.UID)
	}
	resp := admission.Response{AdmissionResponse: *out.Response}
	if len(resp.Patch) > 0 {
		var ops []patch.Operation
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatalf("patch %s: %v", resp.Patch, err)
		}
		resp.Patches = ops
	}
	return rec.Code, resp
}

// call is serveReview for a review that must be answered with HTTP 200.
func call(t testing.TB, h http.Handler, r admission.Request) admission.Response {
	t.Helper()
	code, resp := serveReview(t, h, r)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", code, resp.Result.Message)
	}
	return resp
}

type errorText string

func (e errorText) Error() string { return string(e) }
