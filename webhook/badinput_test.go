package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// TestBadInput sends what a broken or hostile client could send, through
// the HTTP path the API server uses: each gets a clear error or a correct
// verdict, never a panic or a silent allow where a deny was due. A body
// that is not a review is refused at the HTTP level (status); a review is
// answered inside the review, even when its object is malformed.
func TestBadInput(t *testing.T) {
	mutator, hpaValidator, workloadValidator, _ := handlers()
	review := func(apiVersion, kind string, object string) string {
		return fmt.Sprintf(`{"apiVersion":%q,"kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":%q,"version":%q,"kind":%q},`+
			`"namespace":"shop","name":"x","operation":"CREATE","object":%s}}`,
			apiVersion, strings.SplitN(kind, "/", 3)[0], strings.SplitN(kind, "/", 3)[1], strings.SplitN(kind, "/", 3)[2], object)
	}
	var containers []string
	for i := range 1000 {
		containers = append(containers, fmt.Sprintf(`{"name":"c%d","image":"x"}`, i))
	}
	thousand := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","namespace":"shop"},"spec":{"template":{"spec":{"containers":[` +
		strings.Join(containers, ",") + `]}}}}`
	tests := map[string]struct {
		handler     any
		body        string
		contentType string
		apiVersion  string // of the answer; empty: v1
		status      int    // HTTP status; 0: 200, with the answer in the review
		allowed     bool
		code        int32
		mention     string
	}{
		"malformed JSON": {handler: workloadValidator, body: `{"apiVersion":`, status: 400, mention: "cannot decode the AdmissionReview"},
		"not a review":   {handler: workloadValidator, body: `{"apiVersion":"v1","kind":"Pod"}`, status: 400, mention: "not an AdmissionReview of admission.k8s.io/v1"},
		"no request":     {handler: workloadValidator, body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, status: 400, mention: "has no request"},
		"a name given twice outside the object": {handler: workloadValidator, status: 400, mention: `duplicate object member name "uid" within "/request"`,
			body: strings.Replace(review("admission.k8s.io/v1", "apps/v1/Deployment", deploymentNoRequests), `"uid":"u1"`, `"uid":"u1","uid":"u2"`, 1)},
		"invalid UTF-8 outside the object": {handler: workloadValidator, status: 400, mention: `invalid UTF-8 within "/request/namespace"`,
			body: strings.Replace(review("admission.k8s.io/v1", "apps/v1/Deployment", deploymentNoRequests), `"namespace":"shop"`, "\"namespace\":\"sh\xffop\"", 1)},
		"missing object": {handler: workloadValidator, body: review("admission.k8s.io/v1", "apps/v1/Deployment", `null`), code: 400, mention: "request.object is empty"},
		"kind and object disagree": {handler: hpaValidator, body: review("admission.k8s.io/v1", "autoscaling/v2/HorizontalPodAutoscaler", deploymentNoRequests),
			code: 400, mention: "the object is apps/v1 Deployment but the review says autoscaling/v2 HorizontalPodAutoscaler"},
		"kind and object disagree, mutator fails open with a warning": {handler: mutator,
			body: review("admission.k8s.io/v1", "autoscaling/v2/HorizontalPodAutoscaler", deploymentNoRequests), allowed: true, mention: "did not mutate"},
		"wrong content type": {handler: workloadValidator, body: review("admission.k8s.io/v1", "apps/v1/Deployment", deploymentNoRequests), contentType: "text/plain", status: 400, mention: "content type"},
		"oversized body":     {handler: workloadValidator, body: `{"pad":"` + strings.Repeat("x", maxReviewBytes) + `"}`, status: http.StatusRequestEntityTooLarge, mention: "too large"},
		"v1beta1 review answered in v1beta1": {handler: workloadValidator, body: review("admission.k8s.io/v1beta1", "apps/v1/Deployment", deploymentNoRequests),
			apiVersion: "admission.k8s.io/v1beta1", code: 403, mention: "requests no memory"},
		// Stricter than encoding/json, as `scaleguard check` is too
		// (internal/objectjson); an API server never sends either. The
		// review is answered, naming the object.
		"a name given twice": {handler: workloadValidator, body: review("admission.k8s.io/v1", "apps/v1/Deployment",
			`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","name":"y"}}`), code: 400, mention: `duplicate object member name "name" within "/request/object/metadata"`},
		"invalid UTF-8": {handler: workloadValidator, body: review("admission.k8s.io/v1", "apps/v1/Deployment",
			"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\xff\"}}"), code: 400, mention: `invalid UTF-8 within "/request/object/metadata/name"`},
		"a thousand containers: denied, message bounded": {handler: workloadValidator, body: review("admission.k8s.io/v1", "apps/v1/Deployment", thousand),
			code: 403, mention: "… and 980 more"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(tc.body)))
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			tc.handler.(http.Handler).ServeHTTP(rec, req)
			if tc.status != 0 {
				if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.mention) {
					t.Fatalf("HTTP %d %q, want %d mentioning %q", rec.Code, rec.Body, tc.status, tc.mention)
				}
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d %q; a review's answer belongs inside the review", rec.Code, rec.Body)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("answer is not a review: %v\n%s", err, rec.Body.String())
			}
			want := tc.apiVersion
			if want == "" {
				want = "admission.k8s.io/v1"
			}
			if out.APIVersion != want || out.Kind != "AdmissionReview" {
				t.Errorf("answered as %s %s, want %s AdmissionReview", out.APIVersion, out.Kind, want)
			}
			r := out.Response
			if r.UID != "u1" {
				t.Errorf("answered uid %q, want u1", r.UID)
			}
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", r.Allowed, tc.allowed, r.Result)
			}
			text := strings.Join(r.Warnings, "\n")
			if r.Result != nil {
				text += r.Result.Message
				if !tc.allowed && r.Result.Code != tc.code {
					t.Errorf("code %d, want %d (%s)", r.Result.Code, tc.code, r.Result.Message)
				}
			}
			if !strings.Contains(text, tc.mention) {
				t.Errorf("answer does not mention %q:\n%.500s", tc.mention, text)
			}
			if len(rec.Body.Bytes()) > 16<<10 {
				t.Errorf("answer is %d bytes; it must stay small", rec.Body.Len())
			}
		})
	}
}

// inEnvelope wraps a request's JSON in an AdmissionReview.
func inEnvelope(request string) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + request + `}`)
}

// TestOldObjectInPlace: readAs leaves oldObject in the body and points at
// exactly its bytes, whatever the white space around them.
func TestOldObjectInPlace(t *testing.T) {
	for request, want := range map[string]string{
		`{"uid":"u","oldObject":{"a":[1,{"b":"}"}]}}`:                `{"a":[1,{"b":"}"}]}`,
		"{\"oldObject\" : \n\t{\"a\":1} ,\"uid\":\"u\"}":             `{"a":1}`,
		`{"uid":"u","oldObject":null}`:                               ``,
		`{"uid":"u"}`:                                                ``,
		`{"oldObject":"x","uid":"u","object":{"kind":"Deployment"}}`: `"x"`,
	} {
		req, _, err := readAs[workloadDocument](inEnvelope(request))
		if err != nil {
			t.Fatalf("%s: %v", request, err)
		}
		if got := string(req.OldObject.Raw); got != want || req.UID != "u" {
			t.Errorf("%s: oldObject %q, uid %q; want %q, u", request, got, req.UID, want)
		}
	}
	if _, _, err := readAs[workloadDocument](inEnvelope(`{"oldObject":{"a":}}`)); err == nil {
		t.Error("a malformed oldObject was accepted")
	}
}
