package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/standards"
)

type fixedFallback struct{ s *policies.Settings }

func (f fixedFallback) Current() *policies.Settings { return f.s }

// serve sends one review of object (JSON) as kind group/version/Kind in
// namespace to h and returns the answer.
func serve(t *testing.T, h any, kind, namespace, object string) *admissionv1.AdmissionResponse {
	t.Helper()
	parts := strings.SplitN(kind, "/", 3)
	body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":%q,"version":%q,"kind":%q},`+
		`"namespace":%q,"name":"x","operation":"CREATE","object":%s}}`, parts[0], parts[1], parts[2], namespace, object)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.(http.Handler).ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer is not a review: %v\n%s", err, rec.Body.String())
	}
	return out.Response
}

func standardsStore(t *testing.T) *standards.Store {
	t.Helper()
	d := policies.Defaults()
	store := standards.NewStore(fixedFallback{&d}, nil)
	floor := int32(2)
	three := int32(3)
	store.Update([]v1alpha1.ClusterScalingStandard{{ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: v1alpha1.ClusterScalingStandardSpec{Overrides: &v1alpha1.OverrideBounds{MinReplicasFloor: &floor, RelaxableRules: []v1alpha1.RuleID{policies.RequestsRequired}}}}},
		[]v1alpha1.ScalingStandard{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "p"}, Spec: v1alpha1.ScalingStandardSpec{MinReplicas: &three}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "sandbox", Name: "s"}, Spec: v1alpha1.ScalingStandardSpec{
				Actions: []v1alpha1.RuleAction{{Rule: policies.RequestsRequired, Action: "warn"}}}},
		})
	return store
}

// Each review is judged with its namespace's standard, which it names.
func TestHandlersJudgeWithTheNamespacesStandard(t *testing.T) {
	v := NewWorkloadValidator(standardsStore(t), nil, nil, logr.Discard())
	if r := serve(t, v, "apps/v1/Deployment", "payments", deploymentNoRequests); r.Allowed || !strings.Contains(r.Result.Message, "(ScalingStandard payments/p)") {
		t.Errorf("payments: allowed %v %+v", r.Allowed, r.Result)
	}
	r := serve(t, v, "apps/v1/Deployment", "sandbox", deploymentNoRequests)
	if !r.Allowed || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "(ScalingStandard sandbox/s)") {
		t.Errorf("sandbox: allowed %v warnings %q", r.Allowed, r.Warnings)
	}
	if r := serve(t, v, "apps/v1/Deployment", "other", deploymentNoRequests); r.Allowed || !strings.Contains(r.Result.Message, "(ClusterScalingStandard default)") {
		t.Errorf("other: allowed %v %+v", r.Allowed, r.Result)
	}
}

func TestScalingStandardValidator(t *testing.T) {
	v := NewScalingStandardValidator(standardsStore(t), nil, logr.Discard())
	const kind = "scaleguard.io/v1alpha1/ScalingStandard"
	obj := func(spec string) string {
		return `{"apiVersion":"scaleguard.io/v1alpha1","kind":"ScalingStandard","metadata":{"name":"x","namespace":"team"},"spec":` + spec + `}`
	}
	if r := serve(t, v, kind, "team", obj(`{"minReplicas":4}`)); !r.Allowed {
		t.Errorf("within bounds: %+v", r.Result)
	}
	r := serve(t, v, kind, "team", obj(`{"minReplicas":1}`))
	if r.Allowed || !strings.Contains(r.Result.Message, "spec.minReplicas: 1 is below overrides.minReplicasFloor 2") ||
		!strings.Contains(r.Result.Message, "ClusterScalingStandard default") {
		t.Errorf("below the floor: allowed %v %+v", r.Allowed, r.Result)
	}
	if r := serve(t, v, kind, "team", obj(`{"minReplicas":"three"}`)); r.Allowed || r.Result.Code != http.StatusBadRequest {
		t.Errorf("a malformed object: allowed %v %+v, want a 400 error", r.Allowed, r.Result)
	}
	// Without the standards (no cluster view) the settings in force bound
	// it: stricter only.
	d := policies.Defaults()
	plain := NewScalingStandardValidator(StaticSettings{&d}, nil, logr.Discard())
	if r := serve(t, plain, kind, "team", obj(`{"actions":[{"rule":"requests-required","action":"warn"}]}`)); r.Allowed ||
		!strings.Contains(r.Result.Message, "overrides.relaxableRules does not list it") {
		t.Errorf("without standards: allowed %v %+v", r.Allowed, r.Result)
	}
}
