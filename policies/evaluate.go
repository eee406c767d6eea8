package policies

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// HPAReview is one HorizontalPodAutoscaler to evaluate.
type HPAReview struct {
	// Object is the HPA as received, in its v2 form. It is not modified.
	Object *autoscalingv2.HorizontalPodAutoscaler
	// Old is the stored object on UPDATE, nil otherwise.
	Old *autoscalingv2.HorizontalPodAutoscaler
	// WrittenAs is the apiVersion the client wrote ("autoscaling/v1"); empty
	// when unknown or v2.
	WrittenAs string
	// Final marks the object as final (the validating webhook): mutations can
	// no longer be made, so a mutate rule the object still breaks refuses it.
	Final bool
	// Cluster is what is known of the cluster; nil if nothing.
	Cluster Cluster
	// MutationsOnly leaves out the rules that only judge
	// (behavior-consistency, the cross-object rules and their lookups of
	// the cluster): the mutating webhook keeps the mutations alone, and the
	// validating webhook runs those rules on the patched object anyway.
	MutationsOnly bool
}

// HPAResult is the verdict on one HPA.
type HPAResult struct {
	Findings Findings
	// Object is the HPA after the API server's defaults and every mutation.
	Object *autoscalingv2.HorizontalPodAutoscaler
	// Mutated says whether any mutation was applied.
	Mutated bool
	// Unapplied lists, for a final review, the denials of rules set to
	// mutate: what the mutating webhook would have changed but did not.
	// They are among Findings, before the mode caps or an old object
	// softens them; the audit reports them as mutations.
	Unapplied Findings
}

// EvaluateHPA runs every HPA rule.
func EvaluateHPA(r HPAReview, s *Settings) HPAResult {
	obj := r.Object.DeepCopy()
	if NamespaceExempt(s, r.Cluster, obj.Namespace) {
		return HPAResult{Object: obj}
	}
	ApplyAPIServerDefaults(obj)
	exempt, findings := exemptions(obj.Annotations, s)
	on := func(id string) bool { return !exempt[id] && s.Action(id) != Off }

	if on(HPAAPIVersion) {
		if f := apiVersionRule(r.WrittenAs, obj); f != nil {
			findings = append(findings, *f)
		}
	}
	mutated := false
	var unapplied Findings
	managedBy := externalOwner(obj, s.ExternallyManaged)
	mutate := func(id string, m *mutation) {
		if m == nil || !on(id) {
			return
		}
		switch {
		case managedBy != "" && s.Action(id) == Mutate:
			findings = append(findings, Finding{Rule: id, Action: Warn, Path: m.path,
				Message: m.fix + NotMutatedNote(managedBy, id)})
		case s.Action(id) == Mutate && !r.Final:
			m.apply(obj)
			mutated = true
			findings = append(findings, Finding{Rule: id, Action: Mutate, Path: m.path, Message: m.done})
		case s.Action(id) == Mutate:
			f := Finding{Rule: id, Action: Deny, Path: m.path, Message: m.fix + " (scaleguard's mutation was not applied)"}
			findings = append(findings, f)
			unapplied = append(unapplied, f)
		default:
			findings = append(findings, Finding{Rule: id, Action: Deny, Path: m.path, Message: m.fix})
		}
	}
	if on(MinReplicas) {
		m, f := minReplicasRule(obj, s.Rules.MinReplicas.Minimum)
		if f != nil {
			findings = append(findings, *f)
		}
		mutate(MinReplicas, m)
	}
	// A memory target beside a VPA that sets memory would start the fight
	// hpa-vpa-conflict refuses: the VPA already answers memory pressure.
	if on(MemoryTarget) && !vpaSetsMemory(obj, r.Cluster) {
		mutate(MemoryTarget, memoryTargetRule(obj, s.Rules.MemoryTarget.AverageUtilization))
	}
	if on(BehaviorDefaults) {
		mutate(BehaviorDefaults, behaviorDefaultsRule(obj, s.Rules.BehaviorDefaults.Behavior, pathBehavior))
	}
	if on(BehaviorConsistency) && !r.MutationsOnly {
		findings = append(findings, behaviorConsistency(obj, s.Rules.BehaviorConsistency, hpaFields)...)
	}
	if !r.MutationsOnly {
		findings = append(findings, hpaClusterRules(obj, r.Cluster, s, on)...)
	}
	findings = s.cap(findings)
	if r.Old != nil {
		findings = s.SoftenExistingHPA(findings, r.Old, r.Cluster)
	}
	sortFindings(findings)
	return HPAResult{Findings: findings, Object: obj, Mutated: mutated, Unapplied: unapplied}
}

// SoftenExistingHPA turns each denial in findings that the stored object old
// already had (same rule, same field) into a warning, when
// allowExistingViolations is on: an update must not be blocked for what it
// did not make worse. The old object is judged only when something is
// denied, so callers may decode it lazily under the same condition
// (NeedsOld).
func (s *Settings) SoftenExistingHPA(findings Findings, old *autoscalingv2.HorizontalPodAutoscaler, c Cluster) Findings {
	if !s.NeedsOld(findings) {
		return findings
	}
	was := EvaluateHPA(HPAReview{Object: old, Final: true, Cluster: c}, s).Findings
	return softenExisting(findings, was)
}

// SoftenExistingWorkload is SoftenExistingHPA for workloads.
func (s *Settings) SoftenExistingWorkload(findings Findings, old *Workload, c Cluster) Findings {
	if !s.NeedsOld(findings) {
		return findings
	}
	return softenExisting(findings, EvaluateWorkload(WorkloadReview{Object: *old, Cluster: c}, s))
}

// NeedsOld reports whether the old object could change findings.
func (s *Settings) NeedsOld(findings Findings) bool {
	return s.AllowExistingViolations && findings.Denied()
}

// Workload is a Deployment or StatefulSet, reduced to what the rules read.
type Workload struct {
	Kind     string
	Meta     metav1.ObjectMeta
	Replicas *int32
	Template *corev1.PodTemplateSpec
	// Selector is the pod selector the scale subresource reports to the
	// HPA controller (ScaleSelector); nil when it reports none.
	Selector labels.Selector
}

// WorkloadOf returns the workload view of a Deployment or StatefulSet.
func WorkloadOf(obj any) (Workload, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return Workload{Kind: KindDeployment, Meta: o.ObjectMeta, Replicas: o.Spec.Replicas, Template: &o.Spec.Template,
			Selector: ScaleSelector(o.Spec.Selector)}, true
	case *appsv1.StatefulSet:
		return Workload{Kind: KindStatefulSet, Meta: o.ObjectMeta, Replicas: o.Spec.Replicas, Template: &o.Spec.Template,
			Selector: ScaleSelector(o.Spec.Selector)}, true
	}
	return Workload{}, false
}

// WorkloadReview is one Deployment or StatefulSet to evaluate.
type WorkloadReview struct {
	Object Workload
	// Old is the stored object on UPDATE, nil otherwise.
	Old *Workload
	// Cluster is what is known of the cluster; nil if nothing.
	Cluster Cluster
	// Final marks the object as final (the validating webhook): a mutation
	// can no longer be made, so a mutate rule reports what it would have
	// done as a warning instead of claiming it.
	Final bool
}

// The fields of a workload findings point at.
var (
	pathReplicas     = field.NewPath("spec", "replicas")
	templateSpecPath = field.NewPath("spec", "template", "spec")
)

// WorkloadResult is the verdict on one workload.
type WorkloadResult struct {
	Findings Findings
	// Replicas, when not nil, is the replica count a mutate rule wants
	// spec.replicas set to (hpa-replicas-conflict keeps the current one).
	Replicas *int32
}

// EvaluateWorkload runs every workload rule.
func EvaluateWorkload(r WorkloadReview, s *Settings) Findings {
	return EvaluateWorkloadFull(r, s).Findings
}

// EvaluateWorkloadFull runs every workload rule and returns its mutation too.
func EvaluateWorkloadFull(r WorkloadReview, s *Settings) WorkloadResult {
	w := r.Object
	if NamespaceExempt(s, r.Cluster, w.Meta.Namespace) {
		return WorkloadResult{}
	}
	exempt, findings := exemptions(w.Meta.Annotations, s)
	on := func(id string) bool { return !exempt[id] && s.Action(id) != Off }
	// reported is what requests-required says, so that target-requests
	// does not say it again on the same workload.
	var reported reportedRequests
	if on(RequestsRequired) {
		var lrs []corev1.LimitRange
		var lrErr error
		if r.Cluster != nil {
			lrs, lrErr = r.Cluster.LimitRanges(w.Meta.Namespace)
		}
		rr, gaps := requestsRequired(&w.Template.Spec, templateSpecPath, s.Rules.RequestsRequired.Resources, lrs)
		reported = reportedRequests{gaps: gaps, action: s.Action(RequestsRequired)}
		if lrErr != nil {
			// A LimitRange might fill the missing requests; without knowing,
			// scaleguard warns rather than deny on its own blind spot.
			rr = softened(rr, "the namespace's LimitRanges are unknown right now")
			reported.action = Warn
		}
		findings = append(findings, rr...)
	}
	var result WorkloadResult
	if r.Cluster != nil {
		f, replicas := workloadClusterRules(r, s, on, reported)
		findings = append(findings, f...)
		result.Replicas = replicas
	}
	findings = s.cap(findings)
	if r.Old != nil {
		findings = s.SoftenExistingWorkload(findings, r.Old, r.Cluster)
	}
	sortFindings(findings)
	result.Findings = findings
	return result
}

// cap lowers each finding to its rule's configured action (a rule set to
// warn never denies, one set to off says nothing) and then applies the
// global warn mode.
func (s *Settings) cap(fs Findings) Findings {
	out := fs[:0]
	for _, f := range fs {
		switch s.Action(f.Rule) {
		case Off:
			continue
		case Warn:
			if f.Action == Deny {
				f.Action = Warn
			}
		}
		if s.Mode == WarnOnly && f.Action == Deny {
			f.Action = Warn
			f.Message += " (not enforced: scaleguard is in warn mode)"
		}
		if s.Source != "" {
			f.Message += " (" + s.Source + ")"
		}
		out = append(out, f)
	}
	return out
}

// softenExisting turns a denial into a warning when the old object was
// already denied by the same rule at the same place.
func softenExisting(fs, old Findings) Findings {
	type place struct{ rule, path string }
	was := map[place]bool{}
	for _, f := range old {
		if f.Action == Deny {
			was[place{f.Rule, f.Path.String()}] = true
		}
	}
	for i, f := range fs {
		if f.Action == Deny && was[place{f.Rule, f.Path.String()}] {
			fs[i].Action = Warn
			fs[i].Message = fmt.Sprintf("%s (already so before this update; allowed by allowExistingViolations)", f.Message)
		}
	}
	return fs
}

// ScaleSelector is a workload's selector as its scale subresource reports
// it (k8s.io/kubernetes pkg/registry/apps/deployment/storage and
// statefulset/storage, scaleFromDeployment and scaleFromStatefulSet:
// metav1.LabelSelectorAsSelector(spec.selector).String()), which the HPA
// controller parses back (validateAndParseSelector). Nil when that string
// is empty, which the controller refuses ("selector is required"), or when
// the selector cannot be converted.
func ScaleSelector(s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil || sel.String() == "" {
		return nil
	}
	return sel
}
