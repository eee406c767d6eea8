package webhook

import (
	"net/http"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// vpaKind is the VerticalPodAutoscaler as hpa-vpa-conflict reads it.
var vpaKind = crdKind[policies.VPASpec, policies.VPA]{
	handler: "vpa-validate",
	gvk:     metav1.GroupVersionKind{Group: policies.VPAGroup, Version: policies.VPAVersion, Kind: policies.KindVPA},
	build: func(t metav1.TypeMeta, m metav1.ObjectMeta, spec policies.VPASpec) *policies.VPA {
		return &policies.VPA{TypeMeta: t, ObjectMeta: m, Spec: spec}
	},
	evaluate: func(obj, old *policies.VPA, c policies.Cluster, s *policies.Settings) policies.Findings {
		return policies.EvaluateVPA(policies.VPAReview{Object: obj, Old: old, Cluster: c}, s)
	},
}

// NewVPAValidator answers the validating webhook for VerticalPodAutoscalers:
// hpa-vpa-conflict seen from the VPA, against the HPAs of its target.
func NewVPAValidator(src SettingsSource, c policies.Cluster, m *Metrics, log logr.Logger) http.Handler {
	return newCRDValidator(vpaKind, src, c, m, log)
}
