package webhook

import (
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scaleguard/scaleguard/internal/objectjson"
	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// The rules read a small part of each object. Decoding only that part
// (metadata without managedFields, the HPA's spec, the pod template's
// container resources) skips most of what a 25 KB object holds: env, probes,
// volumes, status, the field managers' bookkeeping. Field names are matched
// case sensitively, as the API server does.

// objectMeta is the metadata the rules read.
type objectMeta struct {
	Name            string                  `json:"name"`
	GenerateName    string                  `json:"generateName"`
	Namespace       string                  `json:"namespace"`
	UID             types.UID               `json:"uid"`
	Labels          map[string]string       `json:"labels"`
	Annotations     map[string]string       `json:"annotations"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
}

func (m objectMeta) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace, UID: m.UID,
		Labels: m.Labels, Annotations: m.Annotations, OwnerReferences: m.OwnerReferences}
}

// unmarshal decodes JSON the way the API server reads it, with the
// decoder `scaleguard check` uses too (internal/objectjson): field names
// matched case sensitively, unknown fields ignored, a name given twice and
// invalid UTF-8 refused.
func unmarshal(b []byte, into any, opts ...jsonv2.Options) error {
	return objectjson.Unmarshal(b, into, opts...)
}

func decode(raw []byte, into any, field string) error {
	if len(raw) == 0 {
		return fmt.Errorf("request.%s is empty", field)
	}
	if err := unmarshal(raw, into); err != nil {
		return fmt.Errorf("request.%s is not valid: %w", field, err)
	}
	return nil
}

// typeMeta is what an object says it is. The API server always writes it;
// when present it must agree with the review's kind, or the review is
// malformed and judging it as the wrong kind would be a silent mistake.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (t typeMeta) check(want metav1.GroupVersionKind) error {
	if t.APIVersion == "" && t.Kind == "" {
		return nil
	}
	gv := want.Version
	if want.Group != "" {
		gv = want.Group + "/" + want.Version
	}
	if t.APIVersion != gv || t.Kind != want.Kind {
		return fmt.Errorf("the object is %s %s but the review says %s %s", t.APIVersion, t.Kind, gv, want.Kind)
	}
	return nil
}

// hpaDocument is an HPA as the rules read it.
type hpaDocument struct {
	typeMeta `json:",inline"`
	Metadata objectMeta                                 `json:"metadata"`
	Spec     *autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
}

func decodeHPA(raw []byte, field string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	doc := &hpaDocument{}
	if err := decode(raw, doc, field); err != nil {
		return nil, err
	}
	return doc.hpa(field)
}

// hpa builds the HPA the rules read from the decoded document.
func (doc *hpaDocument) hpa(field string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if err := doc.check(metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: policies.KindHPA}); err != nil {
		return nil, fmt.Errorf("request.%s: %w", field, err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{TypeMeta: policies.TypeMetaHPAv2(), ObjectMeta: doc.Metadata.objectMeta()}
	if doc.Spec != nil {
		hpa.Spec = *doc.Spec
	}
	return hpa, nil
}

// container is a container as the rules read it.
type container struct {
	Name          string                         `json:"name"`
	Resources     corev1.ResourceRequirements    `json:"resources"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy"`
}

// workloadDocument is a Deployment or StatefulSet as the rules read it.
type workloadDocument struct {
	typeMeta `json:",inline"`
	Metadata objectMeta `json:"metadata"`
	Spec     *struct {
		Replicas *int32 `json:"replicas"`
		Template struct {
			Metadata objectMeta `json:"metadata"`
			Spec     struct {
				Containers     []container                  `json:"containers"`
				InitContainers []container                  `json:"initContainers"`
				Resources      *corev1.ResourceRequirements `json:"resources"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

func decodeWorkload(raw []byte, kind metav1.GroupVersionKind, field string, s *policies.Settings) (*policies.Workload, *workloadDocument, error) {
	if err := checkWorkloadKind(kind, s); err != nil {
		return nil, nil, err
	}
	doc := &workloadDocument{}
	if err := decode(raw, doc, field); err != nil {
		return nil, nil, err
	}
	return doc.workload(kind, field)
}

// checkWorkloadKind accepts apps/v1 Deployments and StatefulSets, and the
// custom kinds settings.workloadKinds lists in the version listed: their
// pod template and replicas are at the same paths, so workloadDocument
// reads them alike. A kind no longer listed (the settings changed before
// the webhook configuration's rules did) is an error, not a silent allow.
func checkWorkloadKind(kind metav1.GroupVersionKind, s *policies.Settings) error {
	if kind.Group == appsv1.GroupName && kind.Version == "v1" && (kind.Kind == policies.KindDeployment || kind.Kind == policies.KindStatefulSet) {
		return nil
	}
	if k, ok := s.CustomWorkloadKind(kind.Group, kind.Kind); ok && k.Version == kind.Version {
		return nil
	}
	return fmt.Errorf("scaleguard expects an apps/v1 Deployment or StatefulSet, or a kind listed in settings.workloadKinds, at this path, got %s", kind)
}

// workload builds the workload the rules read from the decoded document.
func (doc *workloadDocument) workload(kind metav1.GroupVersionKind, field string) (*policies.Workload, *workloadDocument, error) {
	if err := doc.check(kind); err != nil {
		return nil, nil, fmt.Errorf("request.%s: %w", field, err)
	}
	w := &policies.Workload{Kind: kind.Kind, Meta: doc.Metadata.objectMeta(), Template: &corev1.PodTemplateSpec{}}
	if doc.Spec == nil {
		return w, doc, nil
	}
	s := doc.Spec
	w.Replicas = s.Replicas
	w.Template.ObjectMeta = s.Template.Metadata.objectMeta()
	w.Template.Spec.Resources = s.Template.Spec.Resources
	convert := func(cs []container) []corev1.Container {
		out := make([]corev1.Container, len(cs))
		for i, c := range cs {
			out[i] = corev1.Container{Name: c.Name, Resources: c.Resources, RestartPolicy: c.RestartPolicy}
		}
		return out
	}
	w.Template.Spec.Containers = convert(s.Template.Spec.Containers)
	w.Template.Spec.InitContainers = convert(s.Template.Spec.InitContainers)
	return w, doc, nil
}

// specPatch returns the patch from before to after, two values of an
// object's spec type, fitted to object, the JSON they were decoded from.
// Both sides are wrapped the same way, so the paths come out under /spec
// and the rest of the object (metadata, status) is never diffed.
func specPatch[T any](object []byte, before, after T) ([]patch.Operation, error) {
	type wrapped struct {
		Spec T `json:"spec"`
	}
	return patch.ForDocument(object, wrapped{before}, wrapped{after})
}
