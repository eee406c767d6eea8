package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// TestFailuresAreHTTP500: a failure of scaleguard itself, a panic or an
// error of its own, is an HTTP 500 whether the handler mutates or
// validates, so that the API server applies the webhook's failurePolicy;
// a panic is counted as result "panic". A malformed object, the writer's
// mistake, stays an answer inside the review.
func TestFailuresAreHTTP500(t *testing.T) {
	s := policies.Defaults()
	for name, tc := range map[string]struct {
		decide   decide[hpaDocument]
		failOpen bool
		result   string
	}{
		"panic in a validator": {decide: panics, result: "panic"},
		"panic in a mutator":   {decide: panics, failOpen: true, result: "panic"},
		"error of scaleguard's own in a mutator": {failOpen: true, result: "error",
			decide: func(context.Context, *request[hpaDocument], *policies.Settings) (admission.Response, string, error) {
				return admission.Response{}, "error", errors.New("making the patch: boom")
			}},
	} {
		t.Run(name, func(t *testing.T) {
			m := NewMetrics()
			h := &handler[hpaDocument]{name: "test", settings: StaticSettings{S: &s}, metrics: m, log: logr.Discard(), decide: tc.decide, failOpen: tc.failOpen}
			code, resp := serveReview(t, h, reviewOf(hpaV2, minimalHPA))
			if code != http.StatusInternalServerError {
				t.Fatalf("HTTP %d, want 500: %+v", code, resp.Result)
			}
			if tc.result == "panic" && !strings.Contains(resp.Result.Message, "scaleguard failed on HorizontalPodAutoscaler shop/checkout; this is a bug") {
				t.Errorf("message %q", resp.Result.Message)
			}
			if got := testutil.ToFloat64(m.reviews.WithLabelValues("test", tc.result)); got != 1 {
				t.Errorf("scaleguard_admission_reviews_total{result=%q} = %v, want 1", tc.result, got)
			}
		})
	}
	// The writer's mistake is no failure: refused in the review by the
	// validator, admitted with a warning by the mutator.
	mutator, validator, _, _ := handlers()
	malformed := reviewOf(hpaV2, `{"spec":{"maxReplicas":"ten"}}`)
	if resp := call(t, validator, malformed); resp.Allowed || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("validator: %+v", resp.Result)
	}
	if resp := call(t, mutator, malformed); !resp.Allowed || !strings.Contains(strings.Join(resp.Warnings, ""), "scaleguard did not mutate") {
		t.Errorf("mutator: allowed %v, warnings %q", resp.Allowed, resp.Warnings)
	}
}

func panics(context.Context, *request[hpaDocument], *policies.Settings) (admission.Response, string, error) {
	var m map[string]int
	m["boom"]++ //nolint:staticcheck // a runtime panic, as a bug would raise, is the point
	return admission.Allowed(""), "allowed", nil
}
