package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// NewWorkloadMutator answers the mutating webhook for Deployments,
// StatefulSets and the kinds of settings.workloadKinds: with
// hpa-replicas-conflict set to mutate, an update that changes spec.replicas
// of a workload an HPA manages keeps the current count. Like the HPA
// mutator it fails open, and leaves denials to the validating webhook.
func NewWorkloadMutator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[workloadDocument]{name: "workload-mutate", settings: src, cluster: c, metrics: m, log: log, failOpen: true}
	h.decide = func(_ context.Context, req *request[workloadDocument], s *policies.Settings) (admission.Response, string, error) {
		review, doc, err := workloadReview(req, s, h.cluster, true)
		if err != nil {
			return invalid(err)
		}
		result := policies.EvaluateWorkloadFull(review, s)
		mutations := result.Findings.With(policies.Mutate)
		h.count(req, review.Object.Kind, mutations)
		if result.Replicas == nil || doc.Spec == nil {
			return admission.Allowed(""), "allowed", nil
		}
		type replicas struct {
			Replicas *int32 `json:"replicas,omitempty"`
		}
		return patched(specPatch(req.Object.Raw, replicas{doc.Spec.Replicas}, replicas{result.Replicas}))(mutations)
	}
	return h
}

// NewWorkloadValidator answers the validating webhook for Deployments,
// StatefulSets and the kinds of settings.workloadKinds.
func NewWorkloadValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[workloadDocument]{name: "workload-validate", settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(_ context.Context, req *request[workloadDocument], s *policies.Settings) (admission.Response, string, error) {
		// With a cluster view, the old object tells a replica change; without
		// one it matters only when something is denied.
		review, _, err := workloadReview(req, s, h.cluster, h.cluster != nil)
		if err != nil {
			return invalid(err)
		}
		review.Final = true
		findings := policies.EvaluateWorkload(review, s)
		if review.Old == nil && s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			old, err := decodeOldWorkload(req, s)
			if err != nil {
				return invalid(err)
			}
			findings = s.SoftenExistingWorkload(findings, old, h.cluster)
		}
		h.count(req, review.Object.Kind, findings)
		resp, result := respond(review.Object.Kind, req.Namespace, req.Name, findings)
		return resp, result, nil
	}
	return h
}

// workloadReview builds what the rules need of the request's object (and,
// if withOld, of the old one).
func workloadReview(req *request[workloadDocument], s *policies.Settings, c policies.Cluster, withOld bool) (policies.WorkloadReview, *workloadDocument, error) {
	fail := func(err error) (policies.WorkloadReview, *workloadDocument, error) {
		return policies.WorkloadReview{}, nil, fmt.Errorf("%s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
	}
	if err := checkWorkloadKind(req.Kind, s); err != nil {
		return fail(err)
	}
	read, err := req.obj()
	if err != nil {
		return fail(err)
	}
	w, doc, err := read.workload(req.Kind, "object")
	if err != nil {
		return fail(err)
	}
	review := policies.WorkloadReview{Object: *w, Cluster: c}
	if withOld && len(req.OldObject.Raw) > 0 {
		if review.Old, err = decodeOldWorkload(req, s); err != nil {
			return policies.WorkloadReview{}, nil, err
		}
	}
	return review, doc, nil
}

func decodeOldWorkload(req *request[workloadDocument], s *policies.Settings) (*policies.Workload, error) {
	old, _, err := decodeWorkload(req.OldObject.Raw, req.Kind, "oldObject", s)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
	}
	return old, nil
}

// patched answers a mutating review with the patch and a warning for each
// mutation. It takes specPatch's results as they come: a patch that cannot
// be made is a failure of scaleguard, not of the object.
func patched(ops []patch.Operation, err error) func(policies.Findings) (admission.Response, string, error) {
	return func(mutations policies.Findings) (admission.Response, string, error) {
		if err != nil {
			return admission.Response{}, "error", fmt.Errorf("making the patch: %w", err)
		}
		warnings := make([]string, len(mutations))
		for i, f := range mutations {
			warnings[i] = f.String()
		}
		if len(ops) == 0 {
			return admission.Allowed("").WithWarnings(warnings...), "allowed", nil
		}
		return admission.Patched("", ops...).WithWarnings(warnings...), "patched", nil
	}
}
