package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// NewHPAMutator answers the mutating webhook for HorizontalPodAutoscalers:
// it applies the mutate rules and says what it changed. Denials are left to
// the validating webhook, which sees the final object.
func NewHPAMutator(src SettingsSource, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "hpa-mutate", settings: src, metrics: m, log: log, failOpen: true}
	h.decide = func(_ context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		review, err := hpaReview(req, false)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err), "error"
		}
		result := policies.EvaluateHPA(review, s)
		mutations := result.Findings.With(policies.Mutate)
		h.count(req, policies.KindHPA, mutations)
		if !result.Mutated {
			return admission.Allowed(""), "allowed"
		}
		ops, err := patch.ForDocument(req.Object.Raw, review.Object, result.Object)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err), "error"
		}
		warnings := make([]string, len(mutations))
		for i, f := range mutations {
			warnings[i] = f.String()
		}
		if len(ops) == 0 {
			return admission.Allowed("").WithWarnings(warnings...), "allowed"
		}
		return admission.Patched("", ops...).WithWarnings(warnings...), "patched"
	}
	return h
}

// NewHPAValidator answers the validating webhook for HorizontalPodAutoscalers.
// It runs after every mutating webhook, so it judges the object that will be
// stored: a mutate rule still broken here means the mutation was skipped or
// undone, and the object is refused rather than stored non-standard.
func NewHPAValidator(src SettingsSource, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "hpa-validate", settings: src, metrics: m, log: log}
	h.decide = func(_ context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		review, err := hpaReview(req, true)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err), "error"
		}
		result := policies.EvaluateHPA(review, s)
		h.count(req, policies.KindHPA, result.Findings)
		return respond(policies.KindHPA, req.Namespace, req.Name, result.Findings)
	}
	return h
}

// hpaReview decodes the request into what the rules need.
func hpaReview(req admission.Request, final bool) (policies.HPAReview, error) {
	if req.Kind.Group != "autoscaling" || req.Kind.Version != "v2" || req.Kind.Kind != policies.KindHPA {
		return policies.HPAReview{}, fmt.Errorf("scaleguard expects autoscaling/v2 HorizontalPodAutoscaler at this path, got %s; "+
			"check that the webhook configuration lists only v2 with matchPolicy: Equivalent", req.Kind)
	}
	obj := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := decodeObject(req.Object.Raw, obj, "object"); err != nil {
		return policies.HPAReview{}, fmt.Errorf("HorizontalPodAutoscaler %s: %w", objectName(req.Namespace, req.Name), err)
	}
	review := policies.HPAReview{Object: obj, Final: final}
	if rk := req.RequestKind; rk != nil && (rk.Group != req.Kind.Group || rk.Version != req.Kind.Version) {
		review.WrittenAs = rk.Group + "/" + rk.Version
	}
	if len(req.OldObject.Raw) > 0 {
		old := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := decodeObject(req.OldObject.Raw, old, "oldObject"); err != nil {
			return policies.HPAReview{}, fmt.Errorf("HorizontalPodAutoscaler %s: %w", objectName(req.Namespace, req.Name), err)
		}
		review.Old = old
	}
	return review, nil
}
