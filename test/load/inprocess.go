package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/stock"
	"github.com/scaleguard/scaleguard/webhook"
)

// Floor answers every review after decoding it with encoding/json, judging
// nothing: the least a webhook written in Go can cost. It allows all but an
// object named refuse (when not empty), so that a caller can tell it is
// called. The in-process table, stockserver --floor and test/apibench's
// "webhook floor" use it.
func Floor(refuse string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(body, &review)
		}
		if err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		if refuse != "" && review.Request.Name == refuse {
			resp.Allowed = false
			resp.Result = &metav1.Status{Message: "the floor refuses " + refuse}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
	})
}

// Handlers builds, in this process, the handlers the servers run: for
// "scaleguard" the webhook package's, for "stock" test/stock's, and
// the "floor", each on the paths scaleguard serve uses. scaleguard's have
// no cluster view, as `scaleguard serve --cluster-view=false`.
func Handlers(s *policies.Settings) (map[string]http.Handler, error) {
	sg := ScaleguardHandlers(webhook.StaticSettings{S: s})
	h, err := stock.NewHandlers(s)
	if err != nil {
		return nil, err
	}
	st := http.NewServeMux()
	st.Handle(PathMutateHPA, h.MutateHPA)
	st.Handle(PathValidateHPA, h.ValidateHPA)
	st.Handle(PathValidateWorkload, h.ValidateDeployment)
	return map[string]http.Handler{"scaleguard": sg, "stock": st, "floor": Floor("")}, nil
}

// ScaleguardHandlers are scaleguard's handlers reading their settings from
// src, on the paths scaleguard serve uses, without a cluster view.
func ScaleguardHandlers(src webhook.SettingsSource) http.Handler {
	sg := http.NewServeMux()
	sg.Handle(PathMutateHPA, webhook.NewHPAMutator(src, nil, nil, logr.Discard()))
	sg.Handle(PathValidateHPA, webhook.NewHPAValidator(src, nil, nil, logr.Discard()))
	sg.Handle(PathValidateWorkload, webhook.NewWorkloadValidator(src, nil, nil, logr.Discard()))
	return sg
}

// Cost is what one review costs a handler in process, without TLS or the
// network: the time and allocations of its ServeHTTP.
type Cost struct {
	Server, Review string
	NsPerOp        int64
	AllocsPerOp    int64
	BytesPerOp     int64
}

// InProcess times every review through every handler, after checking each
// answer once (but the floor's, which allows all). Each figure is the best of five runs of about 150 ms: other
// work on the machine only ever adds time, so the minimum is the cost.
func InProcess(handlers map[string]http.Handler, servers []string, reviews []*Review) ([]Cost, error) {
	var out []Cost
	for _, r := range reviews {
		for _, name := range servers {
			h := handlers[name]
			serve := func() *httptest.ResponseRecorder { return serveReview(h, r) }
			if answer := serve().Body.Bytes(); name != "floor" {
				if err := r.Check(answer); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			n := 1
			for start := time.Now(); time.Since(start) < 20*time.Millisecond; n++ {
				serve()
			}
			n = max(1, n*150/20) // about 150 ms a run
			best := Cost{Server: name, Review: r.Name, NsPerOp: math.MaxInt64}
			for range 5 {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				start := time.Now()
				for range n {
					serve()
				}
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				if ns := took.Nanoseconds() / int64(n); ns < best.NsPerOp {
					best.NsPerOp = ns
					best.AllocsPerOp = int64(after.Mallocs-before.Mallocs) / int64(n)
					best.BytesPerOp = int64(after.TotalAlloc-before.TotalAlloc) / int64(n)
				}
			}
			out = append(out, best)
		}
	}
	return out, nil
}

// serveReview sends r's body to h as the API server would, without TLS or
// the network, and returns the answer.
func serveReview(h http.Handler, r *Review) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, r.Path, bytes.NewReader(r.Body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}
