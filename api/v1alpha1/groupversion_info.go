// Package v1alpha1 is the scaleguard.io/v1alpha1 API: the standard as
// Kubernetes objects. A ClusterScalingStandard (cluster-scoped) holds every
// setting of the settings file and the bounds within which namespaces may
// override it; a ScalingStandard (namespaced) holds one namespace's
// overrides. Package standards resolves them into the policies.Settings
// the rules read.
//
// The CRDs (config/crd/bases) and zz_generated.deepcopy.go are generated
// by controller-gen from these types: `make generate`.
//
// +kubebuilder:object:generate=true
// +groupName=scaleguard.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "scaleguard.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a scheme.
	// controller-gen's scaffold; its deprecation asks api packages for fewer
	// dependencies, which this one, inside scaleguard's module, does not need.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion} //nolint:staticcheck

	// AddToScheme adds the types of this group and version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
