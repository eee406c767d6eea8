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
// StatefulSets and the kinds of settings.workloadKinds: with hpa-replicas-conflict set to mutate, an update that
// changes spec.replicas of a workload an HPA manages keeps the current
// count. Like the HPA mutator it fails open, and leaves denials to the
// validating webhook.
func NewWorkloadMutator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "workload-mutate", read: readAs[workloadDocument], settings: src, cluster: c, metrics: m, log: log, failOpen: true}
	h.decide = func(ctx context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		review, doc, err := workloadReview(ctx, req, s, h.cluster, true)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err), "error"
		}
		result := policies.EvaluateWorkloadFull(review, s)
		mutations := result.Findings.With(policies.Mutate)
		h.count(req, review.Object.Kind, mutations)
		if result.Replicas == nil || doc.Spec == nil {
			return admission.Allowed(""), "allowed"
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
func NewWorkloadValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "workload-validate", read: readAs[workloadDocument], settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(ctx context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		// With a cluster view, the old object tells a replica change; without
		// one it matters only when something is denied.
		review, _, err := workloadReview(ctx, req, s, h.cluster, h.cluster != nil)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err), "error"
		}
		review.Final = true
		findings := policies.EvaluateWorkload(review, s)
		if review.Old == nil && s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			old, err := decodeOldWorkload(req, s)
			if err != nil {
				return admission.Errored(http.StatusBadRequest, err), "error"
			}
			findings = s.SoftenExistingWorkload(findings, old, h.cluster)
		}
		h.count(req, review.Object.Kind, findings)
		return respond(review.Object.Kind, req.Namespace, req.Name, findings)
	}
	return h
}

// workloadReview decodes the request's object (and, if withOld, the old
// one) into what the rules need.
func workloadReview(ctx context.Context, req admission.Request, s *policies.Settings, c policies.Cluster, withOld bool) (policies.WorkloadReview, *workloadDocument, error) {
	var w *policies.Workload
	var doc *workloadDocument
	var err error
	if read, ok := ctx.Value(decodedObject{}).(*workloadDocument); ok {
		if err = checkWorkloadKind(req.Kind, s); err == nil {
			w, doc, err = read.workload(req.Kind, "object")
		}
	} else {
		w, doc, err = decodeWorkload(req.Object.Raw, req.Kind, "object", s)
	}
	if err != nil {
		return policies.WorkloadReview{}, nil, fmt.Errorf("%s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
	}
	review := policies.WorkloadReview{Object: *w, Cluster: c}
	if withOld && len(req.OldObject.Raw) > 0 {
		if review.Old, err = decodeOldWorkload(req, s); err != nil {
			return policies.WorkloadReview{}, nil, err
		}
	}
	return review, doc, nil
}

func decodeOldWorkload(req admission.Request, s *policies.Settings) (*policies.Workload, error) {
	old, _, err := decodeWorkload(req.OldObject.Raw, req.Kind, "oldObject", s)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
	}
	return old, nil
}

// patched answers a mutating review with the patch and a warning for each
// mutation. It takes specPatch's results as they come, so that a failed
// patch is answered as an error.
func patched(ops []patch.Operation, err error) func(policies.Findings) (admission.Response, string) {
	return func(mutations policies.Findings) (admission.Response, string) {
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
}
