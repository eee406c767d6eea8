package policies

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// WorkloadKind is a custom resource judged like a Deployment: a kind with
// a /scale subresource whose objects carry a pod template at spec.template
// and a replica count at spec.replicas (Argo Rollouts' Rollout, OpenKruise's
// CloneSet). Listed in settings.workloadKinds, its objects get
// requests-required when written, and an HPA that scales one gets
// target-requests and the other target rules, as for a Deployment.
type WorkloadKind struct {
	// APIGroup is the kind's API group, e.g. argoproj.io.
	APIGroup string `json:"apiGroup"`
	// Version is the served version the webhooks and the cluster view read
	// the objects in, e.g. v1alpha1.
	Version string `json:"version"`
	// Kind is the kind, e.g. Rollout.
	Kind string `json:"kind"`
	// Resource is the kind's plural resource name, e.g. rollouts: what the
	// webhook rules and the RBAC rules name.
	Resource string `json:"resource"`
}

// APIVersion is group/version, as an object's apiVersion says it.
func (k WorkloadKind) APIVersion() string { return k.APIGroup + "/" + k.Version }

// GroupVersionResource names the kind's resource for a dynamic client.
func (k WorkloadKind) GroupVersionResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.APIGroup, Version: k.Version, Resource: k.Resource}
}

// GroupVersionKind names the kind.
func (k WorkloadKind) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.APIGroup, Version: k.Version, Kind: k.Kind}
}

// CustomWorkloadKind returns the listed custom workload kind of group and
// kind; any version matches, as the HPA controller resolves a
// scaleTargetRef's kind through the group's preferred version.
func (s *Settings) CustomWorkloadKind(group, kind string) (WorkloadKind, bool) {
	for _, k := range s.WorkloadKinds {
		if k.APIGroup == group && k.Kind == kind {
			return k, true
		}
	}
	return WorkloadKind{}, false
}

// IsWorkloadKind reports whether the rules judge objects of group/kind as
// workloads: apps/v1 Deployments and StatefulSets, and the listed custom
// kinds.
func (s *Settings) IsWorkloadKind(group, kind string) bool {
	if group == appsv1.GroupName && (kind == KindDeployment || kind == KindStatefulSet) {
		return true
	}
	_, ok := s.CustomWorkloadKind(group, kind)
	return ok
}

// validateWorkloadKinds checks settings.workloadKinds, at path. Kinds must
// be unique by name, not only by group: the cluster's lookups
// (Cluster.Workload, Cluster.HPAsFor) and an HPA's scaleTargetRef match a
// target by kind and name within a namespace, and two listed kinds of one
// name would be judged as one.
func validateWorkloadKinds(kinds []WorkloadKind, path *field.Path) field.ErrorList {
	const example = "e.g. {apiGroup: argoproj.io, version: v1alpha1, kind: Rollout, resource: rollouts}"
	var errs field.ErrorList
	seen := map[string]int{}
	for i, k := range kinds {
		at := path.Index(i)
		switch group := at.Child("apiGroup"); {
		case k.APIGroup == "":
			errs = append(errs, field.Required(group, "the kind's API group, "+example))
		case k.APIGroup == appsv1.GroupName || !strings.Contains(k.APIGroup, "."):
			errs = append(errs, field.Invalid(group, k.APIGroup, "a built-in group: list only custom resources (Deployments and StatefulSets are always judged), "+example))
		case len(validation.IsDNS1123Subdomain(k.APIGroup)) > 0:
			errs = append(errs, field.Invalid(group, k.APIGroup, "not an API group: "+strings.Join(validation.IsDNS1123Subdomain(k.APIGroup), "; ")))
		}
		if problems := validation.IsDNS1035Label(k.Version); k.Version == "" || len(problems) > 0 {
			errs = append(errs, field.Invalid(at.Child("version"), k.Version, "not an API version: give the served version the objects are read in, "+example))
		}
		if k.Kind == "" || !isKindName(k.Kind) {
			errs = append(errs, field.Invalid(at.Child("kind"), k.Kind, "not a kind: write it as the objects' kind field does (CamelCase), "+example))
		}
		if problems := validation.IsDNS1123Label(k.Resource); len(problems) > 0 {
			errs = append(errs, field.Invalid(at.Child("resource"), k.Resource, "not a resource name: give the lowercase plural (kubectl api-resources shows it), "+example))
		}
		if k.Kind == KindDeployment || k.Kind == KindStatefulSet {
			errs = append(errs, field.Invalid(at.Child("kind"), k.Kind, "the name of a built-in workload kind; an HPA's scaleTargetRef could not tell the two apart"))
		}
		if j, dup := seen[k.Kind]; dup && k.Kind != "" {
			e := field.Duplicate(at.Child("kind"), k.Kind)
			e.Detail = fmt.Sprintf("also %s; list each kind once", path.Index(j))
			errs = append(errs, e)
		}
		seen[k.Kind] = i
	}
	return errs
}

// isKindName: a kind is an upper-case letter then letters and digits.
func isKindName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
		case i > 0 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// customWorkloadSpec is what the rules read of a custom workload: the same
// fields at the same paths as in a Deployment.
type customWorkloadSpec struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Replicas *int32                 `json:"replicas"`
		Selector *metav1.LabelSelector  `json:"selector"`
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

// WorkloadFromUnstructured decodes an object of custom workload kind k into
// the workload the rules read, with Kind k.Kind: its pod template from
// spec.template and replicas from spec.replicas, the paths the kind's
// scale subresource and controller read. The scale selector is taken from
// spec.selector (policies.ScaleSelector), the label selector that Argo
// Rollouts and OpenKruise publish at their labelSelectorPath
// (status.selector, status.labelSelector); k8s.io/apiextensions-apiserver
// pkg/registry/customresource/etcd.go scaleFromCustomResource reads that
// path, which a new object does not have yet.
//
// An object without spec.template (an Argo Rollout with spec.workloadRef,
// whose pods come from a Deployment's template) has an empty template:
// nothing of it is judged, the referenced Deployment is judged as a
// Deployment. A field of the wrong type is an error naming its path.
func WorkloadFromUnstructured(k WorkloadKind, obj map[string]any) (Workload, error) {
	var doc customWorkloadSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, &doc, false); err != nil {
		return Workload{}, fmt.Errorf("%s %s: %w; scaleguard reads spec.replicas (an integer), spec.selector (a label selector) and spec.template (a pod template) as in a Deployment",
			k.Kind, objectName(obj), err)
	}
	w := Workload{Kind: k.Kind, Meta: doc.Metadata, Replicas: doc.Spec.Replicas, Template: &doc.Spec.Template}
	if doc.Spec.Selector != nil {
		w.Selector = ScaleSelector(doc.Spec.Selector)
	}
	return w, nil
}

// objectName is namespace/name of an unstructured object, for messages.
func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return strings.TrimPrefix(ns+"/"+name, "/")
}
