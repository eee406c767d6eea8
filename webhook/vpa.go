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

// vpaDocument is a VerticalPodAutoscaler as hpa-vpa-conflict reads it.
type vpaDocument struct {
	typeMeta `json:",inline"`
	Metadata objectMeta       `json:"metadata"`
	Spec     policies.VPASpec `json:"spec"`
}

var vpaKind = metav1.GroupVersionKind{Group: policies.VPAGroup, Version: policies.VPAVersion, Kind: policies.KindVPA}

func decodeVPA(raw []byte, field string) (*policies.VPA, error) {
	doc := &vpaDocument{}
	if err := decode(raw, doc, field); err != nil {
		return nil, err
	}
	return doc.vpa(field)
}

// vpa builds the VPA the rules read from the decoded document.
func (doc *vpaDocument) vpa(field string) (*policies.VPA, error) {
	if err := doc.check(vpaKind); err != nil {
		return nil, fmt.Errorf("request.%s: %w", field, err)
	}
	return &policies.VPA{
		TypeMeta:   metav1.TypeMeta{APIVersion: policies.VPAGroup + "/" + policies.VPAVersion, Kind: policies.KindVPA},
		ObjectMeta: doc.Metadata.objectMeta(),
		Spec:       doc.Spec,
	}, nil
}

// NewVPAValidator answers the validating webhook for VerticalPodAutoscalers:
// hpa-vpa-conflict seen from the VPA, against the HPAs of its target.
func NewVPAValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) admission.Handler {
	h := &handler{name: "vpa-validate", read: readAs[vpaDocument], settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(ctx context.Context, req admission.Request, s *policies.Settings) (admission.Response, string) {
		fail := func(err error) (admission.Response, string) {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("%s %s: %w", policies.KindVPA, objectName(req.Namespace, req.Name), err)), "error"
		}
		if req.Kind != vpaKind {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("scaleguard expects %s/%s %s at this path, got %s; "+
				"check that the webhook configuration lists only v1 with matchPolicy: Equivalent", policies.VPAGroup, policies.VPAVersion, policies.KindVPA, req.Kind)), "error"
		}
		var obj *policies.VPA
		var err error
		if read, ok := ctx.Value(decodedObject{}).(*vpaDocument); ok {
			obj, err = read.vpa("object")
		} else {
			obj, err = decodeVPA(req.Object.Raw, "object")
		}
		if err != nil {
			return fail(err)
		}
		review := policies.VPAReview{Object: obj, Cluster: h.cluster}
		findings := policies.EvaluateVPA(review, s)
		// The old object only softens a denial it already had.
		if s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			if review.Old, err = decodeVPA(req.OldObject.Raw, "oldObject"); err != nil {
				return fail(err)
			}
			findings = policies.EvaluateVPA(review, s)
		}
		h.count(req, policies.KindVPA, findings)
		return respond(policies.KindVPA, req.Namespace, req.Name, findings)
	}
	return h
}
