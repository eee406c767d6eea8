package policies

import (
	"fmt"
	"slices"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/internal/objectjson"
)

// KindVPA is the kind of a VerticalPodAutoscaler (autoscaling.k8s.io/v1).
const KindVPA = "VerticalPodAutoscaler"

// VPAGroup and VPAVersion are the API group and version the rules read a
// VerticalPodAutoscaler in.
const (
	VPAGroup   = "autoscaling.k8s.io"
	VPAVersion = "v1"
)

// VPA is a VerticalPodAutoscaler reduced to what hpa-vpa-conflict reads. The
// fields and their JSON names are those of VerticalPodAutoscaler in
// k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1
// (pkg/apis/autoscaling.k8s.io/v1/types.go). That module is not a
// dependency: it would pull the whole autoscaler into scaleguard's build for
// five fields, and a VPA arrives as JSON (admission, the dynamic informer,
// files) anyway.
type VPA struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VPASpec `json:"spec"`
}

// VPASpec mirrors VerticalPodAutoscalerSpec.
type VPASpec struct {
	// TargetRef names the workload whose pods the VPA resizes.
	TargetRef *autoscalingv1.CrossVersionObjectReference `json:"targetRef,omitempty"`
	// UpdatePolicy says whether the VPA changes running pods.
	UpdatePolicy *VPAUpdatePolicy `json:"updatePolicy,omitempty"`
	// ResourcePolicy says which containers and resources it controls.
	ResourcePolicy *VPAResourcePolicy `json:"resourcePolicy,omitempty"`
}

// VPAUpdatePolicy mirrors PodUpdatePolicy.
type VPAUpdatePolicy struct {
	UpdateMode *string `json:"updateMode,omitempty"`
}

// VPAResourcePolicy mirrors PodResourcePolicy.
type VPAResourcePolicy struct {
	ContainerPolicies []VPAContainerPolicy `json:"containerPolicies,omitempty"`
}

// VPAContainerPolicy mirrors ContainerResourcePolicy. controlledValues is
// left out: RequestsOnly and RequestsAndLimits both set the requests an
// HPA's utilization divides by, so it changes nothing here.
type VPAContainerPolicy struct {
	ContainerName       string                 `json:"containerName,omitempty"`
	Mode                *string                `json:"mode,omitempty"`
	ControlledResources *[]corev1.ResourceName `json:"controlledResources,omitempty"`
}

// Values of the upstream enums the rules compare with.
const (
	// VPAUpdateModeOff and VPAUpdateModeInitial never change a running pod;
	// every other mode does (UpdateMode in types.go).
	VPAUpdateModeOff      = "Off"
	VPAUpdateModeInitial  = "Initial"
	VPAUpdateModeRecreate = "Recreate"
	// vpaContainerModeOff excludes a container (ContainerScalingModeOff).
	vpaContainerModeOff = "Off"
	// vpaDefaultContainerPolicy is DefaultContainerResourcePolicy: the
	// policy of every container without one of its own.
	vpaDefaultContainerPolicy = "*"
)

// vpaDefaultControlledResources is the recommender's
// DefaultControlledResources (pkg/recommender/model/aggregate_container_state.go),
// what a container policy without controlledResources controls.
func vpaDefaultControlledResources() []corev1.ResourceName {
	return []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}
}

// DecodeVPA reads a VerticalPodAutoscaler from JSON. Fields the rules do not
// read are ignored, as the VPA's own clients ignore fields they do not know;
// a field the rules read with the wrong type is an error naming it.
func DecodeVPA(data []byte) (*VPA, error) {
	var v VPA
	if err := objectjson.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not a valid %s: %w", KindVPA, err)
	}
	return &v, nil
}

// UpdateMode is the VPA's update mode, Recreate when it sets none, as
// GetUpdateMode (pkg/utils/vpa/api.go) answers.
func (v *VPA) UpdateMode() string {
	if p := v.Spec.UpdatePolicy; p == nil || p.UpdateMode == nil || *p.UpdateMode == "" {
		return VPAUpdateModeRecreate
	}
	return *v.Spec.UpdatePolicy.UpdateMode
}

// UpdatesRunningPods reports whether the VPA changes the resources of
// running pods: the updater (pkg/updater/logic/updater.go RunOnce) skips a
// VPA in Off or Initial mode and evicts or resizes in place under every
// other (Recreate, Auto, InPlaceOrRecreate, InPlace).
func (v *VPA) UpdatesRunningPods() bool {
	m := v.UpdateMode()
	return m != VPAUpdateModeOff && m != VPAUpdateModeInitial
}

// containerPolicy is the policy that applies to the named container: its
// own, else the "*" one, else none — GetContainerResourcePolicy
// (pkg/utils/vpa/api.go).
func (v *VPA) containerPolicy(container string) *VPAContainerPolicy {
	if v.Spec.ResourcePolicy == nil {
		return nil
	}
	var def *VPAContainerPolicy
	for i, p := range v.Spec.ResourcePolicy.ContainerPolicies {
		if p.ContainerName == container {
			return &v.Spec.ResourcePolicy.ContainerPolicies[i]
		}
		if p.ContainerName == vpaDefaultContainerPolicy {
			def = &v.Spec.ResourcePolicy.ContainerPolicies[i]
		}
	}
	return def
}

// policyControls reports whether p, a container's policy (nil for none),
// lets the VPA set resource r: a policy in mode Off excludes the container;
// the controlled resources are the policy's, or cpu and memory
// (AggregateContainerState.UpdateFromPolicy).
func policyControls(p *VPAContainerPolicy, r corev1.ResourceName) bool {
	if p != nil && p.Mode != nil && *p.Mode == vpaContainerModeOff {
		return false
	}
	if p == nil || p.ControlledResources == nil {
		return slices.Contains(vpaDefaultControlledResources(), r)
	}
	return slices.Contains(*p.ControlledResources, r)
}

// Controls reports whether the VPA changes resource r of the named
// container in running pods.
func (v *VPA) Controls(container string, r corev1.ResourceName) bool {
	return v.UpdatesRunningPods() && policyControls(v.containerPolicy(container), r)
}

// ControlsAny reports whether the VPA changes resource r of some container
// in running pods. containers are the names of the target's containers;
// when they are unknown (nil), any container not named by a policy is
// taken to exist, so the "*" policy (or none) counts, and so does every
// named policy.
func (v *VPA) ControlsAny(r corev1.ResourceName, containers []string) bool {
	if !v.UpdatesRunningPods() {
		return false
	}
	if containers != nil {
		return slices.ContainsFunc(containers, func(c string) bool { return v.Controls(c, r) })
	}
	var def *VPAContainerPolicy
	if v.Spec.ResourcePolicy != nil {
		for i, p := range v.Spec.ResourcePolicy.ContainerPolicies {
			if p.ContainerName == vpaDefaultContainerPolicy {
				def = &v.Spec.ResourcePolicy.ContainerPolicies[i]
			} else if v.Controls(p.ContainerName, r) {
				return true
			}
		}
	}
	return policyControls(def, r)
}

// Targets reports whether the VPA's targetRef names kind/name; like
// HPAsFor, the API version is not compared.
func (v *VPA) Targets(kind, name string) bool {
	ref := v.Spec.TargetRef
	return ref != nil && ref.Kind == kind && ref.Name == name
}

// DeepCopy returns a copy that shares nothing with v.
func (v *VPA) DeepCopy() *VPA {
	out := &VPA{TypeMeta: v.TypeMeta, ObjectMeta: *v.ObjectMeta.DeepCopy()}
	if ref := v.Spec.TargetRef; ref != nil {
		r := *ref
		out.Spec.TargetRef = &r
	}
	if p := v.Spec.UpdatePolicy; p != nil {
		out.Spec.UpdatePolicy = &VPAUpdatePolicy{}
		if p.UpdateMode != nil {
			m := *p.UpdateMode
			out.Spec.UpdatePolicy.UpdateMode = &m
		}
	}
	if rp := v.Spec.ResourcePolicy; rp != nil {
		out.Spec.ResourcePolicy = &VPAResourcePolicy{}
		for _, p := range rp.ContainerPolicies {
			c := VPAContainerPolicy{ContainerName: p.ContainerName}
			if p.Mode != nil {
				m := *p.Mode
				c.Mode = &m
			}
			if p.ControlledResources != nil {
				rs := slices.Clone(*p.ControlledResources)
				c.ControlledResources = &rs
			}
			out.Spec.ResourcePolicy.ContainerPolicies = append(out.Spec.ResourcePolicy.ContainerPolicies, c)
		}
	}
	return out
}
