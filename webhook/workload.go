package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// NewWorkloadValidator answers the validating webhook for Deployments and
// StatefulSets.
func NewWorkloadValidator(src SettingsSource, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "workload-validate", settings: src, metrics: m, log: log}
	h.decide = func(_ context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		review, err := workloadReview(req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err), "error"
		}
		findings := policies.EvaluateWorkload(review, s)
		h.count(req, review.Object.Kind, findings)
		return respond(review.Object.Kind, req.Namespace, req.Name, findings)
	}
	return h
}

func workloadReview(req admission.Request) (policies.WorkloadReview, error) {
	decode := func(raw []byte, field string) (*policies.Workload, error) {
		var obj any
		switch {
		case req.Kind.Group == "apps" && req.Kind.Version == "v1" && req.Kind.Kind == policies.KindDeployment:
			obj = &appsv1.Deployment{}
		case req.Kind.Group == "apps" && req.Kind.Version == "v1" && req.Kind.Kind == policies.KindStatefulSet:
			obj = &appsv1.StatefulSet{}
		default:
			return nil, fmt.Errorf("scaleguard expects an apps/v1 Deployment or StatefulSet at this path, got %s", req.Kind)
		}
		if err := decodeObject(raw, obj, field); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Kind.Kind, objectName(req.Namespace, req.Name), err)
		}
		w, _ := policies.WorkloadOf(obj)
		return &w, nil
	}
	w, err := decode(req.Object.Raw, "object")
	if err != nil {
		return policies.WorkloadReview{}, err
	}
	review := policies.WorkloadReview{Object: *w}
	if len(req.OldObject.Raw) > 0 {
		if review.Old, err = decode(req.OldObject.Raw, "oldObject"); err != nil {
			return policies.WorkloadReview{}, err
		}
	}
	return review, nil
}
