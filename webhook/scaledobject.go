package webhook

import (
	"net/http"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// scaledObjectKind is the KEDA ScaledObject as the rules read it.
var scaledObjectKind = crdKind[policies.ScaledObjectSpec, policies.ScaledObject]{
	handler: "so-validate",
	gvk:     metav1.GroupVersionKind{Group: policies.ScaledObjectGroup, Version: policies.ScaledObjectVersion, Kind: policies.KindScaledObject},
	build: func(t metav1.TypeMeta, m metav1.ObjectMeta, spec policies.ScaledObjectSpec) *policies.ScaledObject {
		return &policies.ScaledObject{TypeMeta: t, ObjectMeta: m, Spec: spec}
	},
	evaluate: func(obj, old *policies.ScaledObject, c policies.Cluster, s *policies.Settings) policies.Findings {
		return policies.EvaluateScaledObject(policies.ScaledObjectReview{Object: obj, Old: old, Cluster: c}, s)
	},
}

// NewScaledObjectValidator answers the validating webhook for KEDA
// ScaledObjects: the standard where KEDA builds its HPA from
// (policies.EvaluateScaledObject). It never mutates.
func NewScaledObjectValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	return newCRDValidator(scaledObjectKind, src, c, m, log)
}
