package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// maxReviewBytes caps a request body: two objects of the API server's
// 3 MiB limit each, plus the review around them (the same cap as
// controller-runtime's admission.Webhook).
const maxReviewBytes = 7 << 20

// Review API versions scaleguard answers; the response uses the request's.
const (
	reviewV1      = "admission.k8s.io/v1"
	reviewV1beta1 = "admission.k8s.io/v1beta1"
)

// ServeHTTP reads an AdmissionReview, answers it, and writes the review
// back in the request's version. It decodes the review and the object in
// one pass (see readAs and unmarshal) — the old object stays raw bytes
// until a handler needs it — where controller-runtime's admission.Webhook
// goes through the API machinery's universal deserializer, which parses
// the body twice and the object again. Both review versions have the same
// JSON shape.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	body, status, err := readBody(r, buf)
	if err != nil {
		writeReview(w, reviewV1, admission.Errored(status, err))
		return
	}
	review, doc, err := h.read(body)
	if err == nil {
		err = checkReview(review)
	}
	if err != nil {
		writeReview(w, reviewV1, admission.Errored(http.StatusBadRequest, err))
		return
	}
	ctx := r.Context()
	if doc != nil {
		ctx = context.WithValue(ctx, decodedObject{}, doc)
	}
	resp := h.Handle(ctx, admission.Request{AdmissionRequest: *review.Request})
	resp.UID = review.Request.UID
	if len(resp.Patches) > 0 {
		patch, err := json.Marshal(resp.Patches)
		if err != nil {
			resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the patch: %w", err))
			resp.UID = review.Request.UID
		} else {
			resp.Patch = patch
			pt := admissionv1.PatchTypeJSONPatch
			resp.PatchType = &pt
		}
	}
	writeReview(w, review.APIVersion, resp)
}

// decodedObject is the context key under which ServeHTTP hands the object,
// already decoded with the review, to the handler's decide.
type decodedObject struct{}

// bodies holds the buffers request bodies are read into. Only the
// request's Object.Raw and OldObject.Raw point into a body (the decoder
// copies strings), and nothing keeps them past the answer, so a buffer is
// reused once its review is answered: without the pool, reading the body
// made half of the garbage of a review.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse; a rare large review
// should not pin its buffer.
const maxPooledBody = 1 << 20

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodies.Put(b)
}

// readBody reads the body into buf. The status is the HTTP-style code the
// error is reported with inside the review.
func readBody(r *http.Request, buf *bytes.Buffer) ([]byte, int32, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, http.StatusBadRequest, errors.New("request body is empty")
	}
	defer r.Body.Close()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return nil, http.StatusBadRequest, fmt.Errorf("content type %q, expected application/json", ct)
	}
	if r.ContentLength > maxReviewBytes {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewBytes)
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	limited := &io.LimitedReader{R: r.Body, N: maxReviewBytes + 1}
	if _, err := buf.ReadFrom(limited); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	body := buf.Bytes()
	if int64(len(body)) > maxReviewBytes {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewBytes)
	}
	return body, 0, nil
}

// readAs decodes a review whose object is read straight into D, the
// handler's document type: one pass over the body, where decoding the
// review and then its object would scan the object twice more. Neither
// object is copied out of the body: the request's Object.Raw and
// OldObject.Raw are the body's own bytes, valid until the body's buffer is
// reused (after the answer). The old object is only checked and located,
// and decoded only when a handler needs it.
func readAs[D any](body []byte) (*admissionv1.AdmissionReview, any, error) {
	var env struct {
		typeMeta `json:",inline"`
		Request  *struct {
			admissionv1.AdmissionRequest `json:",inline"`
			Object                       located[D] `json:"object"`
			OldObject                    inPlace    `json:"oldObject"`
		} `json:"request"`
	}
	if err := unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("cannot decode the AdmissionReview: %w", err)
	}
	review := &admissionv1.AdmissionReview{}
	review.APIVersion, review.Kind = env.APIVersion, env.Kind
	if env.Request == nil {
		return review, nil, nil
	}
	review.Request = &env.Request.AdmissionRequest
	review.Request.OldObject.Raw = env.Request.OldObject.in(body)
	review.Request.Object.Raw = env.Request.Object.at.in(body)
	if review.Request.Object.Raw == nil {
		return review, nil, nil
	}
	return review, &env.Request.Object.v, nil
}

// located is a JSON value decoded into D that also notes where it lies in
// the input, as inPlace does: a mutator fits its patch to the object's own
// bytes, which therefore need no copy.
type located[D any] struct {
	at inPlace
	v  D
}

// UnmarshalJSONFrom decodes the value. null, like an absent value, leaves
// it empty.
func (l *located[D]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		*l = located[D]{}
		return dec.SkipValue()
	}
	l.at.start = dec.InputOffset() // the end of the name before it
	if err := jsonv2.UnmarshalDecode(dec, &l.v); err != nil {
		return err
	}
	l.at.end = dec.InputOffset()
	return nil
}

// inPlace is a JSON value left where it is: where it starts and ends in
// the input. Copying a 12 KB oldObject out of every UPDATE's body was a
// fifth of the bytes a review allocated, for an object most reviews never
// read.
type inPlace struct{ start, end int64 }

// UnmarshalJSONFrom checks the value's syntax as it skips it. null, like
// an absent value, leaves it empty.
func (v *inPlace) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		*v = inPlace{}
		return dec.SkipValue()
	}
	v.start = dec.InputOffset() // the end of the name before it
	if err := dec.SkipValue(); err != nil {
		return err
	}
	v.end = dec.InputOffset()
	return nil
}

// in is the value's bytes in input, nil when there was none.
func (v inPlace) in(input []byte) []byte {
	if v.end == 0 {
		return nil
	}
	// From the end of the name: the colon and any white space.
	return bytes.TrimLeft(input[v.start:v.end], ": \t\r\n")
}

func checkReview(review *admissionv1.AdmissionReview) error {
	if review.Kind != "AdmissionReview" || (review.APIVersion != reviewV1 && review.APIVersion != reviewV1beta1) {
		return fmt.Errorf("not an AdmissionReview of %s or %s: apiVersion %q, kind %q",
			reviewV1, reviewV1beta1, review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return errors.New("AdmissionReview has no request")
	}
	return nil
}

func writeReview(w http.ResponseWriter, apiVersion string, resp admission.Response) {
	out := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	out.APIVersion, out.Kind = apiVersion, "AdmissionReview"
	w.Header().Set("Content-Type", "application/json")
	// Encoding a review built here cannot fail; a write error means the
	// connection is gone and there is no one left to tell.
	_ = json.NewEncoder(w).Encode(out)
}
