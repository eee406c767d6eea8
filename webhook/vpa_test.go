package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

var vpaV1 = metav1.GroupVersionKind{Group: policies.VPAGroup, Version: policies.VPAVersion, Kind: policies.KindVPA}

// TestVPAValidator: a VPA that fights the stored HPA of its target is
// refused with the rule's message; bad input is a 400 that names the
// object and the field, never a panic or an allow.
func TestVPAValidator(t *testing.T) {
	s := policies.Defaults()
	c := policies.NewStaticCluster()
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, MaxReplicas: 3}}
	policies.ApplyAPIServerDefaults(hpa)
	c.AddHPA(hpa)
	h := NewVPAValidator(StaticSettings{S: &s}, c, NewMetrics(), logr.Discard())
	vpa := func(spec string) string {
		return `{"apiVersion":"autoscaling.k8s.io/v1","kind":"VerticalPodAutoscaler","metadata":{"name":"web-vpa","namespace":"shop"},` +
			`"spec":{"targetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"}` + spec + `}}`
	}
	review := func(kind metav1.GroupVersionKind, object string) admission.Request {
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "u", Kind: kind, Namespace: "shop", Name: "web-vpa",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(object)}}}
	}
	tests := map[string]struct {
		req     admission.Request
		allowed bool
		code    int32
		mention string
	}{
		"conflict":      {review(vpaV1, vpa("")), false, http.StatusForbidden, `[hpa-vpa-conflict] spec.resourcePolicy: VerticalPodAutoscaler "web-vpa" (updateMode Recreate) sets cpu for Deployment "web", which HPA "web" scales on`},
		"Off":           {review(vpaV1, vpa(`,"updatePolicy":{"updateMode":"Off"}`)), true, 0, ""},
		"wrong kind":    {review(metav1.GroupVersionKind{Group: "autoscaling.k8s.io", Version: "v1beta2", Kind: policies.KindVPA}, vpa("")), false, http.StatusBadRequest, "check that the webhook configuration lists only v1"},
		"mode not text": {review(vpaV1, vpa(`,"updatePolicy":{"updateMode":3}`)), false, http.StatusBadRequest, "VerticalPodAutoscaler shop/web-vpa: request.object is not valid"},
		"object is a Deployment": {review(vpaV1, `{"apiVersion":"apps/v1","kind":"Deployment"}`), false, http.StatusBadRequest,
			"the object is apps/v1 Deployment but the review says autoscaling.k8s.io/v1 VerticalPodAutoscaler"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := call(t, h, tc.req)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if tc.allowed {
				if len(resp.Warnings) > 0 {
					t.Errorf("warnings %v", resp.Warnings)
				}
				return
			}
			if resp.Result.Code != tc.code || !strings.Contains(resp.Result.Message, tc.mention) {
				t.Errorf("got %d %q, want %d mentioning %q", resp.Result.Code, resp.Result.Message, tc.code, tc.mention)
			}
		})
	}
}
