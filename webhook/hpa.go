package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// NewHPAMutator answers the mutating webhook for HorizontalPodAutoscalers:
// it applies the mutate rules and says what it changed. Denials are left to
// the validating webhook, which sees the final object.
func NewHPAMutator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[hpaDocument]{name: "hpa-mutate", settings: src, cluster: c, metrics: m, log: log, failOpen: true}
	h.decide = func(_ context.Context, req *request[hpaDocument], s *policies.Settings) (admission.Response, string, error) {
		// The old object only turns denials into warnings, and the mutator
		// denies nothing: it is never decoded here.
		review, err := hpaReview(req, false, h.cluster)
		if err != nil {
			return invalid(err)
		}
		review.MutationsOnly = true
		result := policies.EvaluateHPA(review, s)
		mutations := result.Findings.With(policies.Mutate)
		h.count(req, policies.KindHPA, mutations)
		if !result.Mutated {
			return admission.Allowed(""), "allowed", nil
		}
		return patched(specPatch(req.Object.Raw, review.Object.Spec, result.Object.Spec))(mutations)
	}
	return h
}

// NewHPAValidator answers the validating webhook for HorizontalPodAutoscalers.
// It runs after every mutating webhook, so it judges the object that will be
// stored: a mutate rule still broken here means the mutation was skipped or
// undone, and the object is refused rather than stored non-standard.
func NewHPAValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[hpaDocument]{name: "hpa-validate", settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(_ context.Context, req *request[hpaDocument], s *policies.Settings) (admission.Response, string, error) {
		review, err := hpaReview(req, true, h.cluster)
		if err != nil {
			return invalid(err)
		}
		findings := policies.EvaluateHPA(review, s).Findings
		// The old object matters only when something is denied (an old
		// violation becomes a warning); most reviews never decode it.
		if s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			old, err := decodeHPA(req.OldObject.Raw, "oldObject")
			if err != nil {
				return invalid(fmt.Errorf("HorizontalPodAutoscaler %s: %w", objectName(req.Namespace, req.Name), err))
			}
			findings = s.SoftenExistingHPA(findings, old, h.cluster)
		}
		h.count(req, policies.KindHPA, findings)
		resp, result := respond(policies.KindHPA, req.Namespace, req.Name, findings)
		return resp, result, nil
	}
	return h
}

// hpaReview builds what the rules need of the request's object.
func hpaReview(req *request[hpaDocument], final bool, c policies.Cluster) (policies.HPAReview, error) {
	if req.Kind.Group != "autoscaling" || req.Kind.Version != "v2" || req.Kind.Kind != policies.KindHPA {
		return policies.HPAReview{}, fmt.Errorf("scaleguard expects autoscaling/v2 HorizontalPodAutoscaler at this path, got %s; "+
			"check that the webhook configuration lists only v2 with matchPolicy: Equivalent", req.Kind)
	}
	doc, err := req.obj()
	if err != nil {
		return policies.HPAReview{}, fmt.Errorf("HorizontalPodAutoscaler %s: %w", objectName(req.Namespace, req.Name), err)
	}
	obj, err := doc.hpa("object")
	if err != nil {
		return policies.HPAReview{}, fmt.Errorf("HorizontalPodAutoscaler %s: %w", objectName(req.Namespace, req.Name), err)
	}
	review := policies.HPAReview{Object: obj, Final: final, Cluster: c}
	if rk := req.RequestKind; rk != nil && (rk.Group != req.Kind.Group || rk.Version != req.Kind.Version) {
		review.WrittenAs = rk.Group + "/" + rk.Version
	}
	return review, nil
}
