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

// crdDocument is a custom resource as the rules read it: its spec decoded
// into the rules' own model S (policies.VPASpec, policies.ScaledObjectSpec),
// the rest of the object left alone.
type crdDocument[S any] struct {
	typeMeta `json:",inline"`
	Metadata objectMeta `json:"metadata"`
	Spec     S          `json:"spec"`
}

// crdKind is one custom resource a validating webhook judges: the
// VerticalPodAutoscalers and KEDA ScaledObjects, which the rules model
// without their projects' Go modules.
type crdKind[S, O any] struct {
	// handler names the handler in metrics and logs, e.g. "vpa-validate".
	handler string
	gvk     metav1.GroupVersionKind
	// build makes the rules' object of the decoded parts.
	build func(metav1.TypeMeta, metav1.ObjectMeta, S) *O
	// evaluate judges obj; old is the stored object on UPDATE, nil
	// otherwise.
	evaluate func(obj, old *O, c policies.Cluster, s *policies.Settings) policies.Findings
}

// object builds the rules' object of a decoded document of request.field.
func (k crdKind[S, O]) object(doc *crdDocument[S], field string) (*O, error) {
	if err := doc.check(k.gvk); err != nil {
		return nil, fmt.Errorf("request.%s: %w", field, err)
	}
	return k.build(metav1.TypeMeta{APIVersion: k.gvk.Group + "/" + k.gvk.Version, Kind: k.gvk.Kind}, doc.Metadata.objectMeta(), doc.Spec), nil
}

// decode reads request.field's raw object (the old one: the object
// itself comes decoded with the review).
func (k crdKind[S, O]) decode(raw []byte, field string) (*O, error) {
	doc := &crdDocument[S]{}
	if err := decode(raw, doc, field); err != nil {
		return nil, err
	}
	return k.object(doc, field)
}

// newCRDValidator answers the validating webhook of kind k. It never
// mutates.
func newCRDValidator[S, O any](k crdKind[S, O], src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[crdDocument[S]]{name: k.handler, settings: src, cluster: c, metrics: m, log: log}
	h.decide = func(_ context.Context, req *request[crdDocument[S]], s *policies.Settings) (admission.Response, string, error) {
		fail := func(err error) (admission.Response, string, error) {
			return invalid(fmt.Errorf("%s %s: %w", k.gvk.Kind, objectName(req.Namespace, req.Name), err))
		}
		if req.Kind != k.gvk {
			return invalid(fmt.Errorf("scaleguard expects %s/%s %s at this path, got %s; "+
				"check that the webhook configuration lists only %s with matchPolicy: Equivalent", k.gvk.Group, k.gvk.Version, k.gvk.Kind, req.Kind, k.gvk.Version))
		}
		doc, err := req.obj()
		if err != nil {
			return fail(err)
		}
		obj, err := k.object(doc, "object")
		if err != nil {
			return fail(err)
		}
		findings := k.evaluate(obj, nil, h.cluster, s)
		// The old object only softens a denial it already had.
		if s.NeedsOld(findings) && len(req.OldObject.Raw) > 0 {
			old, err := k.decode(req.OldObject.Raw, "oldObject")
			if err != nil {
				return fail(err)
			}
			findings = k.evaluate(obj, old, h.cluster, s)
		}
		h.count(req, k.gvk.Kind, findings)
		resp, result := respond(k.gvk.Kind, req.Namespace, req.Name, findings)
		return resp, result, nil
	}
	return h
}
