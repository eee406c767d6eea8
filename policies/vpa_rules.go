package policies

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// pathResourcePolicy is the field of a VPA findings point at.
var pathResourcePolicy = field.NewPath("spec", "resourcePolicy")

// vpaConflict is one HPA metric on a resource a VPA sets for the same
// target: the VPA raises the requests as usage grows, the utilization the
// HPA divides by them drops, and the HPA scales in while the VPA scales up
// (kubernetes/autoscaler#6060; the VPA's README says not to use both on
// cpu or memory).
type vpaConflict struct {
	hpa    *autoscalingv2.HorizontalPodAutoscaler
	vpa    *VPA
	metric int
	// resource is what both set; container is the metric's container, empty
	// for a Resource metric.
	resource  corev1.ResourceName
	container string
}

// vpaConflicts lists the conflicts between one HPA and one VPA. A Resource
// metric conflicts when the VPA controls its resource for any container of
// the target, a ContainerResource metric when it controls it for that
// container. containers are the target's container names, nil when
// unknown. Every target type counts: with AverageValue too the VPA resizes
// the pods the HPA counts.
func vpaConflicts(hpa *autoscalingv2.HorizontalPodAutoscaler, vpa *VPA, containers []string) []vpaConflict {
	var out []vpaConflict
	for i, m := range hpa.Spec.Metrics {
		c := vpaConflict{hpa: hpa, vpa: vpa, metric: i}
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
			c.resource = m.Resource.Name
			if !vpa.ControlsAny(c.resource, containers) {
				continue
			}
		case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
			c.resource, c.container = m.ContainerResource.Name, m.ContainerResource.Container
			if !vpa.Controls(c.container, c.resource) {
				continue
			}
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

// what names the contested resource, "cpu" or "cpu of container app".
func (c vpaConflict) what() string {
	if c.container == "" {
		return string(c.resource)
	}
	return fmt.Sprintf("%s of container %q", c.resource, c.container)
}

// fix is the same advice from either side.
func (c vpaConflict) fix() string {
	return fmt.Sprintf("scale the HPA on another metric, leave %s out of the VPA's controlledResources (or set the container's mode: Off), or set the VPA's updateMode to Off or Initial", c.resource)
}

// hpaFinding is the conflict seen from the HPA.
func (c vpaConflict) hpaFinding(kind, name string) Finding {
	return Finding{Rule: HPAVPAConflict, Action: Deny, Path: pathMetrics.Index(c.metric),
		Message: fmt.Sprintf("HPA %q scales on %s, which VerticalPodAutoscaler %q (updateMode %s) also sets for %s %q; the two fight over the pods' requests — %s",
			c.hpa.Name, c.what(), c.vpa.Name, c.vpa.UpdateMode(), kind, name, c.fix())}
}

// vpaFinding is the conflict seen from the VPA.
func (c vpaConflict) vpaFinding(kind, name string) Finding {
	return Finding{Rule: HPAVPAConflict, Action: Deny, Path: pathResourcePolicy,
		Message: fmt.Sprintf("VerticalPodAutoscaler %q (updateMode %s) sets %s for %s %q, which HPA %q scales on (%s); the two fight over the pods' requests — %s",
			c.vpa.Name, c.vpa.UpdateMode(), c.what(), kind, name, c.hpa.Name, pathMetrics.Index(c.metric), c.fix())}
}

// containerNames are the names of the containers a VPA resizes (the pod
// template's containers), nil when the workload is unknown.
func containerNames(w *Workload) []string {
	if w == nil || w.Template == nil {
		return nil
	}
	out := make([]string, 0, len(w.Template.Spec.Containers))
	for _, c := range w.Template.Spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

// hpaVPAConflict judges an HPA against the VPAs of its target. target is
// the workload when known.
func hpaVPAConflict(hpa *autoscalingv2.HorizontalPodAutoscaler, target *Workload, c Cluster) Findings {
	ref := hpa.Spec.ScaleTargetRef
	vpas, err := c.VPAsFor(hpa.Namespace, ref.Kind, ref.Name)
	if err != nil {
		return Findings{notChecked(HPAVPAConflict, "the VerticalPodAutoscalers", err)}
	}
	var out Findings
	for _, v := range vpas {
		for _, conflict := range vpaConflicts(hpa, v, containerNames(target)) {
			out = append(out, conflict.hpaFinding(ref.Kind, ref.Name))
		}
	}
	return out
}

// vpaSetsMemory reports whether a VPA of the HPA's target changes the
// memory of its running pods. A cluster that cannot answer (or none)
// answers no: memory-target then behaves as without VPAs.
func vpaSetsMemory(hpa *autoscalingv2.HorizontalPodAutoscaler, c Cluster) bool {
	if c == nil {
		return false
	}
	ref := hpa.Spec.ScaleTargetRef
	vpas, err := c.VPAsFor(hpa.Namespace, ref.Kind, ref.Name)
	if err != nil || len(vpas) == 0 {
		return false
	}
	var containers []string
	if ref.Kind == KindDeployment || ref.Kind == KindStatefulSet {
		if w, err := c.Workload(hpa.Namespace, ref.Kind, ref.Name); err == nil {
			containers = containerNames(w)
		}
	}
	for _, v := range vpas {
		if v.ControlsAny(corev1.ResourceMemory, containers) {
			return true
		}
	}
	return false
}

// VPAReview is one VerticalPodAutoscaler to evaluate.
type VPAReview struct {
	Object *VPA
	// Old is the stored object on UPDATE, nil otherwise.
	Old *VPA
	// Cluster is what is known of the cluster; nil if nothing, and then
	// nothing is said.
	Cluster Cluster
}

// EvaluateVPA runs the rules that judge a VerticalPodAutoscaler: only
// hpa-vpa-conflict, against the HPAs of its target. The exemption
// annotation is honoured; exemption-reason is left to the kinds it is
// documented for.
func EvaluateVPA(r VPAReview, s *Settings) Findings {
	v := r.Object
	if s.IsExemptNamespace(v.Namespace) || r.Cluster == nil || v.Spec.TargetRef == nil {
		return nil
	}
	exempt, _ := exemptions(v.Annotations, s)
	if exempt[HPAVPAConflict] || s.Action(HPAVPAConflict) == Off || !v.UpdatesRunningPods() {
		return nil
	}
	ref := v.Spec.TargetRef
	hpas, err := r.Cluster.HPAsFor(v.Namespace, ref.Kind, ref.Name)
	if err != nil {
		return s.cap(Findings{notChecked(HPAVPAConflict, "the HPAs of the target", err)})
	}
	var containers []string
	if len(hpas) > 0 && (ref.Kind == KindDeployment || ref.Kind == KindStatefulSet) {
		// An unknown workload (not there yet, or not looked up) leaves the
		// containers unknown, which ControlsAny allows for.
		if w, err := r.Cluster.Workload(v.Namespace, ref.Kind, ref.Name); err == nil {
			containers = containerNames(w)
		}
	}
	var findings Findings
	for _, hpa := range hpas {
		// An HPA from files was never defaulted: no metrics means cpu 80 %.
		hpa = hpa.DeepCopy()
		ApplyAPIServerDefaults(hpa)
		for _, conflict := range vpaConflicts(hpa, v, containers) {
			findings = append(findings, conflict.vpaFinding(ref.Kind, ref.Name))
		}
	}
	findings = s.cap(findings)
	if r.Old != nil && s.NeedsOld(findings) {
		findings = softenExisting(findings, EvaluateVPA(VPAReview{Object: r.Old, Cluster: r.Cluster}, s))
	}
	sortFindings(findings)
	return findings
}
