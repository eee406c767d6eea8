package webhook

import (
	"bytes"
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

// ServeHTTP is the one way into a handler: it reads an AdmissionReview,
// answers it, and writes the review back in the request's version. It
// decodes the review and the object in one pass (see readAs and unmarshal)
// — the old object stays raw bytes until a handler needs it — where
// controller-runtime's admission.Webhook goes through the API machinery's
// universal deserializer, which parses the body twice and the object again.
// Both review versions have the same JSON shape.
//
// What the API server sees: a body that is not a review is an HTTP 400 (413
// when too large); a review is answered inside the review, with its UID,
// even when its object is malformed (that is the writer's mistake, named in
// the answer); a failure of scaleguard itself, a panic included, is an HTTP
// 500, so that the webhook's failurePolicy decides (Ignore admits, Fail
// refuses) rather than scaleguard.
func (h *handler[D]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	body, status, err := readBody(r, buf)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	req, apiVersion, err := readAs[D](body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := h.answer(r.Context(), req)
	if err == nil && len(resp.Patches) > 0 {
		var patch []byte
		if patch, err = json.Marshal(resp.Patches); err != nil {
			err = fmt.Errorf("encoding the patch of %s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
		} else {
			resp.Patch = patch
			pt := admissionv1.PatchTypeJSONPatch
			resp.PatchType = &pt
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp.UID = req.UID
	writeReview(w, apiVersion, resp)
}

// request is one admission request with its object decoded, once, into
// the handler's document type D. It is what a handler's decide reads.
type request[D any] struct {
	*admissionv1.AdmissionRequest
	object *D
	// objectErr says why request.object could not be read as D.
	objectErr error
}

// obj is the decoded request.object, or the error that names what is wrong
// with it.
func (r *request[D]) obj() (*D, error) {
	if r.objectErr != nil {
		return nil, r.objectErr
	}
	if r.object == nil {
		return nil, errors.New("request.object is empty")
	}
	return r.object, nil
}

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

// readBody reads the body into buf. The status is the HTTP status the
// error is answered with.
func readBody(r *http.Request, buf *bytes.Buffer) ([]byte, int, error) {
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
// and decoded only when a handler needs it. The error is for a body that
// is not a review; an object that is not a valid D is the request's
// objectErr, answered inside the review.
func readAs[D any](body []byte) (*request[D], string, error) {
	env, err := readEnvelope[located[D]](body)
	if err == nil {
		req := env.request(body)
		req.Object.Raw = env.Request.Object.at.in(body)
		if req.Object.Raw != nil {
			return &request[D]{AdmissionRequest: req, object: &env.Request.Object.v}, env.APIVersion, nil
		}
		return &request[D]{AdmissionRequest: req}, env.APIVersion, nil
	}
	// Only on an error: is the review or its object at fault? The review
	// read again with the object skipped, and with the checks that caught
	// the object (a name given twice, invalid UTF-8) relaxed for it, says.
	skipped, err2 := readEnvelope[inPlace](body, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err2 != nil || !onlyObjectInvalid(skipped, body) {
		return nil, "", fmt.Errorf("cannot decode the AdmissionReview: %w", err)
	}
	req := skipped.request(body)
	req.Object.Raw = skipped.Request.Object.in(body)
	return &request[D]{AdmissionRequest: req, objectErr: fmt.Errorf("request.object is not valid: %w", err)}, skipped.APIVersion, nil
}

// envelope is an AdmissionReview whose object is read as O.
type envelope[O any] struct {
	typeMeta `json:",inline"`
	Request  *struct {
		admissionv1.AdmissionRequest `json:",inline"`
		Object                       O       `json:"object"`
		OldObject                    inPlace `json:"oldObject"`
	} `json:"request"`
}

// readEnvelope decodes a review and checks that it is one scaleguard
// answers.
func readEnvelope[O any](body []byte, opts ...jsonv2.Options) (*envelope[O], error) {
	env := &envelope[O]{}
	if err := unmarshal(body, env, opts...); err != nil {
		return nil, err
	}
	if env.Kind != "AdmissionReview" || (env.APIVersion != reviewV1 && env.APIVersion != reviewV1beta1) {
		return nil, fmt.Errorf("not an AdmissionReview of %s or %s: apiVersion %q, kind %q",
			reviewV1, reviewV1beta1, env.APIVersion, env.Kind)
	}
	if env.Request == nil {
		return nil, errors.New("AdmissionReview has no request")
	}
	return env, nil
}

// onlyObjectInvalid reports whether env, read with the object's checks
// relaxed, passes them once its object is left out: only then is the
// object, not the review, at fault.
func onlyObjectInvalid(env *envelope[inPlace], body []byte) bool {
	o := env.Request.Object
	if o.end == 0 {
		return false
	}
	rest := make([]byte, 0, len(body))
	rest = append(rest, body[:o.start]...)
	rest = append(rest, ":null"...)
	rest = append(rest, body[o.end:]...)
	return jsontext.Value(rest).IsValid()
}

func (env *envelope[O]) request(body []byte) *admissionv1.AdmissionRequest {
	req := &env.Request.AdmissionRequest
	req.OldObject.Raw = env.Request.OldObject.in(body)
	return req
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

func writeReview(w http.ResponseWriter, apiVersion string, resp admission.Response) {
	out := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	out.APIVersion, out.Kind = apiVersion, "AdmissionReview"
	w.Header().Set("Content-Type", "application/json")
	// Encoding a review built here cannot fail; a write error means the
	// connection is gone and there is no one left to tell.
	_ = json.NewEncoder(w).Encode(out)
}
