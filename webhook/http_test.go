package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// TestObjectInPlace: readAs decodes the object and points Object.Raw at
// exactly its bytes in the body, whatever the white space around them.
func TestObjectInPlace(t *testing.T) {
	for body, want := range map[string]string{
		`{"request":{"uid":"u","object":{"kind":"Deployment","spec":{"replicas":2}}}}`:            `{"kind":"Deployment","spec":{"replicas":2}}`,
		"{\"request\":{\"object\" : \n\t{\"spec\":{\"replicas\":2}} ,\"uid\":\"u\"}}":             `{"spec":{"replicas":2}}`,
		`{"request":{"uid":"u","object":null}}`:                                                   ``,
		`{"request":{"uid":"u"}}`:                                                                 ``,
		`{"request":{"uid":"u","object":{"spec":{"replicas":2}},"oldObject":{"spec":{"x":"}"}}}}`: `{"spec":{"replicas":2}}`,
	} {
		review, doc, err := readAs[workloadDocument]([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := string(review.Request.Object.Raw); got != want || review.Request.UID != "u" {
			t.Errorf("%s: object %q, uid %q; want %q, u", body, got, review.Request.UID, want)
		}
		if want == "" {
			if doc != nil {
				t.Errorf("%s: a document without an object", body)
			}
			continue
		}
		if d, ok := doc.(*workloadDocument); !ok || d.Spec == nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("%s: decoded %#v", body, doc)
		}
	}
	if _, _, err := readAs[workloadDocument]([]byte(`{"request":{"object":{"spec":}}}`)); err == nil {
		t.Error("a malformed object was accepted")
	}
}

// TestServeHTTPPatchesAsHandle: a mutator answering over HTTP fits its
// patch to the object's bytes in the body, and answers as Handle does given
// the object on its own.
func TestServeHTTPPatchesAsHandle(t *testing.T) {
	s := policies.Defaults()
	s.Rules.HPAReplicasConflict.Action = policies.Mutate
	src := StaticSettings{S: &s}
	c := policies.NewStaticCluster()
	c.AddHPA(hpaOn("api", "api"))
	hpaMutator := NewHPAMutator(src, nil, NewMetrics(), logr.Discard())
	workloadMutator := NewWorkloadMutator(src, c, NewMetrics(), logr.Discard())
	for name, tc := range map[string]struct {
		h   admission.Handler
		req admission.Request
	}{
		"HPA":              {hpaMutator, request(hpaV2, minimalHPA)},
		"HPA without spec": {hpaMutator, request(hpaV2, `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"checkout"}}`)},
		"Deployment":       {workloadMutator, request(deployment, deploymentReplicas(5), update(deploymentReplicas(3)))},
	} {
		t.Run(name, func(t *testing.T) {
			want := tc.h.Handle(context.Background(), tc.req)
			if len(want.Patches) == 0 {
				t.Fatalf("no patch to compare: %+v %q", want.Result, want.Warnings)
			}
			// The review around the objects, which follow the rest, spaced
			// as an API server may space them.
			r, err := json.Marshal(tc.req.AdmissionRequest)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(r, &fields); err != nil {
				t.Fatal(err)
			}
			delete(fields, "object")
			delete(fields, "oldObject")
			if r, err = json.Marshal(fields); err != nil {
				t.Fatal(err)
			}
			body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + string(r[:len(r)-1]) +
				`,"object" :` + "\n\t" + string(tc.req.Object.Raw)
			if old := tc.req.OldObject.Raw; old != nil {
				body += ` , "oldObject": ` + string(old)
			}
			body += "}}"
			rec := httptest.NewRecorder()
			hreq := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			hreq.Header.Set("Content-Type", "application/json")
			tc.h.(http.Handler).ServeHTTP(rec, hreq)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			var got []patch.Operation
			if err := json.Unmarshal(out.Response.Patch, &got); err != nil {
				t.Fatalf("patch %s: %v", out.Response.Patch, err)
			}
			if g, w := opsJSON(t, got), opsJSON(t, want.Patches); g != w {
				t.Errorf("patch over HTTP %s, want %s", g, w)
			}
			if !slices.Equal(out.Response.Warnings, want.Warnings) {
				t.Errorf("warnings over HTTP %q, want %q", out.Response.Warnings, want.Warnings)
			}
			if _, err := patch.Apply(tc.req.Object.Raw, got); err != nil {
				t.Errorf("the patch does not apply to the object: %v", err)
			}
		})
	}
}
