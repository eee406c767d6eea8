package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// scaledObjectDocument is a KEDA ScaledObject as the rules read it.
type scaledObjectDocument struct {
	typeMeta `json:",inline"`
	Metadata objectMeta                `json:"metadata"`
	Spec     policies.ScaledObjectSpec `json:"spec"`
}

var scaledObjectKind = metav1.GroupVersionKind{Group: policies.ScaledObjectGroup, Version: policies.ScaledObjectVersion, Kind: policies.KindScaledObject}

func decodeScaledObject(raw []byte, field string) (*policies.ScaledObject, error) {
	doc := &scaledObjectDocument{}
	if err := decode(raw, doc, field); err != nil {
		return nil, err
	}
	return doc.scaledObject(field)
}

// scaledObject builds the ScaledObject the rules read from the decoded
// document.
func (doc *scaledObjectDocument) scaledObject(field string) (*policies.ScaledObject, error) {
	if err := doc.check(scaledObjectKind); err != nil {
		return nil, fmt.Errorf("request.%s: %w", field, err)
	}
	return &policies.ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: policies.ScaledObjectGroup + "/" + policies.ScaledObjectVersion, Kind: policies.KindScaledObject},
		ObjectMeta: doc.Metadata.objectMeta(),
		Spec:       doc.Spec,
	}, nil
}

// NewScaledObjectValidator answers the validating webhook for KEDA
// ScaledObjects: the standard where KEDA builds its HPA from
// (policies.EvaluateScaledObject). It never mutates.
func NewScaledObjectValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "so-validate", read: readAs[scaledObjectDocument], settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(ctx context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		fail := func(err error) (admission.Response, string) {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("%s %s: %w", policies.KindScaledObject, objectName(req.Namespace, req.Name), err)), "error"
		}
		if req.Kind != scaledObjectKind {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("scaleguard expects %s/%s %s at this path, got %s; "+
				"check that the webhook configuration lists only %s with matchPolicy: Equivalent",
				policies.ScaledObjectGroup, policies.ScaledObjectVersion, policies.KindScaledObject, req.Kind, policies.ScaledObjectVersion)), "error"
		}
		var obj *policies.ScaledObject
		var err error
		if read, ok := ctx.Value(decodedObject{}).(*scaledObjectDocument); ok {
			obj, err = read.scaledObject("object")
		} else {
			obj, err = decodeScaledObject(req.Object.Raw, "object")
		}
		if err != nil {
			return fail(err)
		}
		review := policies.ScaledObjectReview{Object: obj, Cluster: h.cluster}
		findings := policies.EvaluateScaledObject(review, s)
		// The old object only softens a denial it already had.
		if s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			if review.Old, err = decodeScaledObject(req.OldObject.Raw, "oldObject"); err != nil {
				return fail(err)
			}
			findings = policies.EvaluateScaledObject(review, s)
		}
		h.count(req, policies.KindScaledObject, findings)
		return respond(policies.KindScaledObject, req.Namespace, req.Name, findings)
	}
	return h
}
