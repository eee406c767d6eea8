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

var scaledObjectV1alpha1 = metav1.GroupVersionKind{Group: policies.ScaledObjectGroup, Version: policies.ScaledObjectVersion, Kind: policies.KindScaledObject}

// TestScaledObjectValidator: a ScaledObject beside another HPA of its
// target is refused with the rule's message, one below the minimum is
// warned about and never patched; bad input is a 400 that names the object
// and the field, never a panic or an allow.
func TestScaledObjectValidator(t *testing.T) {
	s := policies.Defaults()
	c := policies.NewStaticCluster()
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"}, MaxReplicas: 3}}
	c.AddHPA(hpa)
	h := NewScaledObjectValidator(StaticSettings{S: &s}, c, NewMetrics(), logr.Discard())
	behavior := `"advanced":{"horizontalPodAutoscalerConfig":{"behavior":{` +
		`"scaleUp":{"stabilizationWindowSeconds":0,"selectPolicy":"Max","policies":[{"type":"Percent","value":100,"periodSeconds":30}]},` +
		`"scaleDown":{"stabilizationWindowSeconds":300,"selectPolicy":"Max","policies":[{"type":"Percent","value":50,"periodSeconds":60}]}}}}`
	so := func(target, spec string) string {
		return `{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"web","namespace":"shop"},` +
			`"spec":{"scaleTargetRef":{"name":"` + target + `"},` + behavior + `,"triggers":[{"type":"cpu","metricType":"Utilization","metadata":{"value":"70"}}]` + spec + `}}`
	}
	review := func(kind metav1.GroupVersionKind, object string) admission.Request {
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "u", Kind: kind, Namespace: "shop", Name: "web",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(object)}}}
	}
	tests := map[string]struct {
		req     admission.Request
		allowed bool
		code    int32
		mention string
	}{
		"compliant": {review(scaledObjectV1alpha1, so("web", `,"minReplicaCount":2`)), true, 0, ""},
		"below the minimum": {review(scaledObjectV1alpha1, so("web", `,"minReplicaCount":1`)), true, 0,
			"[min-replicas] spec.minReplicaCount: minReplicaCount is 1 and a cpu or memory trigger scales this workload; set spec.minReplicaCount: 2 so one pod lost is not an outage (scaleguard does not mutate ScaledObjects)"},
		"beside an HPA": {review(scaledObjectV1alpha1, so("api", `,"minReplicaCount":2`)), false, http.StatusForbidden,
			`[duplicate-hpa] spec.scaleTargetRef: HPA "api" already scales Deployment "api", and KEDA would build a second HPA (keda-hpa-web) beside it`},
		"wrong version": {review(metav1.GroupVersionKind{Group: "keda.sh", Version: "v1", Kind: policies.KindScaledObject}, so("web", "")), false, http.StatusBadRequest,
			"check that the webhook configuration lists only v1alpha1"},
		"minReplicaCount not a number": {review(scaledObjectV1alpha1, so("web", `,"minReplicaCount":"two"`)), false, http.StatusBadRequest,
			"ScaledObject shop/web: request.object is not valid"},
		"trigger metadata not text": {review(scaledObjectV1alpha1, strings.Replace(so("web", ""), `"value":"70"`, `"value":70`, 1)), false, http.StatusBadRequest,
			"ScaledObject shop/web: request.object is not valid"},
		"object is a Deployment": {review(scaledObjectV1alpha1, `{"apiVersion":"apps/v1","kind":"Deployment"}`), false, http.StatusBadRequest,
			"the object is apps/v1 Deployment but the review says keda.sh/v1alpha1 ScaledObject"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := call(t, h, tc.req)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if len(resp.Patches) > 0 || resp.Patch != nil {
				t.Errorf("a ScaledObject was patched: %v", resp.Patches)
			}
			if tc.allowed {
				if got := strings.Join(resp.Warnings, "\n"); got != tc.mention {
					t.Errorf("warnings %q, want %q", got, tc.mention)
				}
				return
			}
			if resp.Result.Code != tc.code || !strings.Contains(resp.Result.Message, tc.mention) {
				t.Errorf("got %d %q, want %d mentioning %q", resp.Result.Code, resp.Result.Message, tc.code, tc.mention)
			}
		})
	}
}
