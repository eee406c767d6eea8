package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// Paths of the webhooks; the same in scaleguard serve and the stock server
// (webhook.PathMutateHPA and its siblings). The stock server has no
// workload mutator; its floor mode answers at all four paths.
const (
	PathMutateHPA        = "/mutate/hpa"
	PathValidateHPA      = "/validate/hpa"
	PathMutateWorkload   = "/mutate/workload"
	PathValidateWorkload = "/validate/workload"
)

// Review is one AdmissionReview the generator sends, with the verdict it
// must get back.
type Review struct {
	Name string
	Path string
	// About says what the review stands for, for reports.
	About string
	// Body is the whole AdmissionReview, as the API server posts it.
	Body []byte
	uid  types.UID
	// Allowed is the expected answer; Denial is a text the denial message
	// must contain (the rule's ID).
	Allowed bool
	Denial  string
	// want is the HPA once the patch is applied, nil when no patch is
	// expected; object is the JSON the patch applies to.
	want   *autoscalingv2.HorizontalPodAutoscaler
	object []byte
	// verified caches the check of each distinct patch: a server's patch
	// bytes vary only in the order of operations, so the full check (apply,
	// decode, compare) runs a handful of times, not once per answer.
	verified sync.Map
}

// Size is the review's size in bytes.
func (r *Review) Size() int { return len(r.Body) }

var (
	gvkHPAv2      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: policies.KindHPA}
	gvkHPAv1      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: policies.KindHPA}
	gvkDeployment = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: policies.KindDeployment}
)

// update builds an UPDATE review of obj over old.
func update(name, path string, kind, requestKind metav1.GroupVersionKind, obj, old any) (*Review, error) {
	objJSON, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	oldJSON, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	uid := types.UID("load-" + name)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: uid, Kind: kind, RequestKind: &requestKind,
			Resource:        metav1.GroupVersionResource{Group: kind.Group, Version: kind.Version, Resource: strings.ToLower(kind.Kind) + "s"},
			RequestResource: &metav1.GroupVersionResource{Group: requestKind.Group, Version: requestKind.Version, Resource: strings.ToLower(kind.Kind) + "s"},
			Name:            "checkout", Namespace: "shop", Operation: admissionv1.Update,
			UserInfo: authUser(),
			Object:   runtime.RawExtension{Raw: objJSON}, OldObject: runtime.RawExtension{Raw: oldJSON},
			DryRun:  new(false),
			Options: runtime.RawExtension{Raw: []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply","fieldValidation":"Strict"}`)},
		},
	})
	if err != nil {
		return nil, err
	}
	return &Review{Name: name, Path: path, Body: body, uid: uid, object: objJSON}, nil
}

func authUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: "ci-deployer", UID: "0b7a2c1e-6a52-4f0e-9d7e-5c3b1a9e8f20",
		Groups: []string{"system:authenticated", "platform:deployers"}}
}

// The shapes of the mix's objects: each review carries two of them
// (object and oldObject), so a 25 KB review holds two objects of 12 KB.
var (
	smallHPA        = Shape{Lean: true}
	largeHPA        = Shape{Extra: 6, Size: 12_300}
	deploymentShape = Shape{Extra: 1, Lean: true}
)

// Mix is the set of reviews a load run cycles through: HPA mutations of
// about 5 KB and 25 KB (UPDATEs carrying oldObject), HPA validations
// admitted and refused, and Deployment validations (about 25 KB) admitted
// and refused. Each expected verdict is also checked against the policies
// package here, so a rule change cannot leave the mix expecting the wrong
// answer.
func Mix(s *policies.Settings) ([]*Review, error) {
	var out []*Review
	add := func(r *Review, err error) error {
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	// 5 KB and 25 KB mutations: a release resets the spec to what the chart
	// writes, which lacks the standard's fields stored before.
	for _, m := range []struct {
		name, about string
		shape       Shape
	}{
		{"hpa-mutate-5k", "an HPA applied from a bare manifest, CPU target only; stored with the standard's fields", smallHPA},
		{"hpa-mutate-25k", "a chart's HPA with 6 External metrics, Helm/Argo CD metadata, last-applied-configuration, change-log annotation; stored with the standard's fields", largeHPA},
	} {
		stored, err := HPA("checkout", true, m.shape)
		if err != nil {
			return nil, err
		}
		written, err := HPA("checkout", false, m.shape)
		if err != nil {
			return nil, err
		}
		r, err := update(m.name, PathMutateHPA, gvkHPAv2, gvkHPAv2, written, stored)
		if err != nil {
			return nil, err
		}
		r.About = m.about
		result := policies.EvaluateHPA(policies.HPAReview{Object: written, Old: stored}, s)
		if !result.Mutated {
			return nil, fmt.Errorf("%s: the policies do not mutate it; the mix is out of date", m.name)
		}
		r.Allowed, r.want = true, result.Object
		out = append(out, r)
	}

	stored, err := HPA("checkout", true, smallHPA)
	if err != nil {
		return nil, err
	}
	written := stored.DeepCopy()
	written.Spec.MaxReplicas = 30
	if err := add(expectHPA("hpa-validate", "the small HPA, standard, maxReplicas raised",
		written, stored, gvkHPAv2, s, true, "")); err != nil {
		return nil, err
	}
	if err := add(expectHPA("hpa-validate-v1-denied", "the same written as autoscaling/v1 (requestKind)",
		written, stored, gvkHPAv1, s, false, "["+policies.HPAAPIVersion+"]")); err != nil {
		return nil, err
	}

	dep, err := Deployment("checkout", deploymentShape)
	if err != nil {
		return nil, err
	}
	bumped := dep.DeepCopy()
	bumped.Spec.Template.Spec.Containers[0].Image = "registry.example.com/shop/checkout:4.18.3"
	if err := add(expectWorkload("deployment-validate", "a Deployment with an app container, a sidecar and an init container (env, probes, mounts), new image tag",
		bumped, dep, s, true, "")); err != nil {
		return nil, err
	}
	dropped := bumped.DeepCopy()
	// A memory limit alone would become the request on the Pod: drop both.
	delete(dropped.Spec.Template.Spec.Containers[1].Resources.Requests, corev1.ResourceMemory)
	delete(dropped.Spec.Template.Spec.Containers[1].Resources.Limits, corev1.ResourceMemory)
	if err := add(expectWorkload("deployment-validate-denied", "the same, its sidecar's memory request and limit removed",
		dropped, dep, s, false, "["+policies.RequestsRequired+"]")); err != nil {
		return nil, err
	}
	return out, nil
}

func expectHPA(name, about string, obj, old *autoscalingv2.HorizontalPodAutoscaler, requestKind metav1.GroupVersionKind, s *policies.Settings, allowed bool, denial string) (*Review, error) {
	review := policies.HPAReview{Object: obj, Old: old, Final: true}
	if requestKind != gvkHPAv2 {
		review.WrittenAs = requestKind.Group + "/" + requestKind.Version
	}
	if denied := policies.EvaluateHPA(review, s).Findings.Denied(); denied == allowed {
		return nil, fmt.Errorf("%s: the policies say denied=%v; the mix is out of date", name, denied)
	}
	r, err := update(name, PathValidateHPA, gvkHPAv2, requestKind, obj, old)
	if err != nil {
		return nil, err
	}
	r.About, r.Allowed, r.Denial = about, allowed, denial
	return r, nil
}

func expectWorkload(name, about string, obj, old any, s *policies.Settings, allowed bool, denial string) (*Review, error) {
	w, _ := policies.WorkloadOf(obj)
	o, _ := policies.WorkloadOf(old)
	if denied := policies.EvaluateWorkload(policies.WorkloadReview{Object: w, Old: &o}, s).Denied(); denied == allowed {
		return nil, fmt.Errorf("%s: the policies say denied=%v; the mix is out of date", name, denied)
	}
	r, err := update(name, PathValidateWorkload, gvkDeployment, gvkDeployment, obj, old)
	if err != nil {
		return nil, err
	}
	r.About, r.Allowed, r.Denial = about, allowed, denial
	return r, nil
}

// ErrWrongVerdict marks an answer that arrived but says the wrong thing.
var ErrWrongVerdict = errors.New("wrong verdict")

// Check verifies one answer body: a well-formed AdmissionReview for this
// request whose verdict is the expected one, and whose patch, if any,
// turns the object into the expected one and touches nothing else. A
// malformed answer is an error; a wrong verdict wraps ErrWrongVerdict.
func (r *Review) Check(body []byte) error {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return fmt.Errorf("answer is not an AdmissionReview: %w", err)
	}
	resp := review.Response
	if resp == nil {
		return errors.New("answer has no response")
	}
	wrong := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrWrongVerdict, r.Name, fmt.Sprintf(format, args...))
	}
	if resp.UID != r.uid {
		return wrong("uid %q, want %q", resp.UID, r.uid)
	}
	if resp.Allowed != r.Allowed {
		return wrong("allowed=%v, want %v (%+v)", resp.Allowed, r.Allowed, resp.Result)
	}
	if !r.Allowed && (resp.Result == nil || !strings.Contains(resp.Result.Message, r.Denial)) {
		return wrong("denial %+v does not name %s", resp.Result, r.Denial)
	}
	if r.want == nil {
		if len(resp.Patch) > 0 {
			return wrong("unexpected patch %s", resp.Patch)
		}
		return nil
	}
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch || len(resp.Patch) == 0 {
		return wrong("no JSON patch")
	}
	key := string(resp.Patch)
	if v, ok := r.verified.Load(key); ok {
		if v != nil {
			return v.(error)
		}
		return nil
	}
	err := r.verifyPatch(resp.Patch)
	if err != nil {
		err = wrong("%v", err)
		r.verified.Store(key, err)
		return err
	}
	r.verified.Store(key, nil)
	return nil
}

func (r *Review) verifyPatch(raw []byte) error {
	var ops []patch.Operation
	if err := json.Unmarshal(raw, &ops); err != nil {
		return fmt.Errorf("patch is not JSON patch: %w", err)
	}
	doc, err := patch.Apply(r.object, ops)
	if err != nil {
		return err
	}
	var got, before autoscalingv2.HorizontalPodAutoscaler
	if err := json.Unmarshal(doc, &got); err != nil {
		return fmt.Errorf("patched object: %w", err)
	}
	if err := json.Unmarshal(r.object, &before); err != nil {
		return err
	}
	if !apiequality.Semantic.DeepEqual(got.Spec, r.want.Spec) {
		return fmt.Errorf("patched spec %+v, want %+v", got.Spec, r.want.Spec)
	}
	if !apiequality.Semantic.DeepEqual(got.ObjectMeta, before.ObjectMeta) || !apiequality.Semantic.DeepEqual(got.Status, before.Status) {
		return errors.New("patch changes metadata or status")
	}
	return nil
}
