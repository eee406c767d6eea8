package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/standards"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// PathValidateScalingStandard judges a namespace's ScalingStandard against
// the bounds of the ClusterScalingStandard that applies to it.
const PathValidateScalingStandard = configuration.PathValidateScalingStandard

// StandardValidator judges a ScalingStandard against the standards in
// force (standards.Store).
type StandardValidator interface {
	Validate(context.Context, *v1alpha1.ScalingStandard) error
}

// scalingStandardDocument is a ScalingStandard as the bounds read it.
type scalingStandardDocument struct {
	typeMeta `json:",inline"`
	Metadata objectMeta                   `json:"metadata"`
	Spec     v1alpha1.ScalingStandardSpec `json:"spec"`
}

// NewScalingStandardValidator refuses a ScalingStandard outside its
// bounds, which live in another object (the cluster standard) and so
// cannot be checked by the CRD's own CEL rules. Without a
// StandardValidator in src (no cluster view), the bounds are those of the
// settings in force: stricter only.
func NewScalingStandardValidator(src SettingsSource, m *Metrics, log logr.Logger) http.Handler {
	h := &handler[scalingStandardDocument]{name: "scalingstandard-validate", settings: src, metrics: m, log: log}
	h.decide = func(ctx context.Context, req *request[scalingStandardDocument], s *policies.Settings) (admission.Response, string, error) {
		doc, err := req.obj()
		if err != nil {
			return invalid(fmt.Errorf("ScalingStandard %s: %w", objectName(req.Namespace, req.Name), err))
		}
		obj := &v1alpha1.ScalingStandard{ObjectMeta: doc.Metadata.objectMeta(), Spec: doc.Spec}
		if obj.Namespace == "" {
			obj.Namespace = req.Namespace
		}
		if v, ok := src.(StandardValidator); ok {
			err = v.Validate(ctx, obj)
		} else {
			_, err = standards.Resolve(s, nil, nil, obj)
		}
		if err != nil {
			return admission.Denied(fmt.Sprintf("scaleguard refused %s", err)), "denied", nil
		}
		return admission.Allowed(""), "allowed", nil
	}
	return h
}
