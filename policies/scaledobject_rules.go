package policies

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ScaledObjectReview is one KEDA ScaledObject to evaluate.
type ScaledObjectReview struct {
	Object *ScaledObject
	// Old is the stored object on UPDATE, nil otherwise.
	Old *ScaledObject
	// Cluster is what is known of the cluster; nil if nothing, and then
	// the rules that look beyond the object are skipped.
	Cluster Cluster
}

// EvaluateScaledObject runs the rules that judge the HPA KEDA builds from a
// ScaledObject, where it is built from: min-replicas (cpu and memory
// triggers), behavior-defaults and behavior-consistency (its
// advanced.horizontalPodAutoscalerConfig.behavior), target-requests (cpu
// and memory triggers with metricType Utilization) and duplicate-hpa (one
// autoscaler per target across HPAs and ScaledObjects). scaleguard never
// mutates a ScaledObject: a rule set to mutate warns, with what to write.
// The exemption annotation is honoured; exemption-reason is left to the
// kinds it is documented for.
func EvaluateScaledObject(r ScaledObjectReview, s *Settings) Findings {
	so := r.Object
	if NamespaceExempt(s, r.Cluster, so.Namespace) {
		return nil
	}
	exempt, _ := exemptions(so.Annotations, s)
	on := func(id string) bool { return !exempt[id] && s.Action(id) != Off }
	hpa := so.HPA()
	var findings Findings
	if on(MinReplicas) && so.HasResourceTrigger() {
		findings = append(findings, scaledObjectMinReplicas(so, s)...)
	}
	if on(BehaviorDefaults) {
		if m := behaviorDefaultsRule(hpa, s.Rules.BehaviorDefaults.Behavior, pathSOBehavior); m != nil {
			findings = append(findings, notMutated(Finding{Rule: BehaviorDefaults, Action: Deny, Path: m.path,
				Message: m.fix + "; KEDA gives its HPA Kubernetes's defaults otherwise"}, s))
		}
	}
	if on(BehaviorConsistency) {
		findings = append(findings, behaviorConsistency(hpa, s.Rules.BehaviorConsistency, scaledObjectFields)...)
	}
	for i := range findings {
		findings[i].Message = onScaledObject(findings[i].Message)
	}
	if r.Cluster != nil {
		findings = append(findings, scaledObjectClusterRules(so, hpa, r.Cluster, on)...)
	}
	findings = s.cap(findings)
	if r.Old != nil && s.NeedsOld(findings) {
		findings = softenExisting(findings, EvaluateScaledObject(ScaledObjectReview{Object: r.Old, Cluster: r.Cluster}, s))
	}
	sortFindings(findings)
	return findings
}

// scaledObjectMinReplicas is min-replicas on a ScaledObject with a cpu or
// memory trigger: its minReplicaCount (0, KEDA's default, when unset) is at
// least the minimum, and so is its maxReplicaCount (100 when unset).
// Scale-to-zero is no reason to go below: with only cpu and memory
// triggers KEDA cannot scale to zero (verifyCPUMemoryScalers refuses
// minReplicaCount 0), and beside event triggers the cpu or memory trigger
// says the workload serves load.
func scaledObjectMinReplicas(so *ScaledObject, s *Settings) Findings {
	minimum := s.Rules.MinReplicas.Minimum
	if most := so.HPAMaxReplicas(); most < minimum {
		return Findings{{Rule: MinReplicas, Action: Deny, Path: pathMaxReplicaCount,
			Message: fmt.Sprintf("maxReplicaCount is %d, below the required minimum of %d replicas; set spec.maxReplicaCount to at least %d",
				most, minimum, minimum)}}
	}
	current := so.MinReplicaCount()
	if current >= minimum {
		return nil
	}
	return Findings{notMutated(Finding{Rule: MinReplicas, Action: Deny, Path: pathMinReplicaCount,
		Message: fmt.Sprintf("minReplicaCount is %d and a cpu or memory trigger scales this workload; set spec.minReplicaCount: %d so one pod lost is not an outage",
			current, minimum)}, s)}
}

// notMutated lowers f to a warning when its rule is set to mutate:
// scaleguard does not patch ScaledObjects, so what it would have written is
// said instead, as it is for the HPAs KEDA owns (externallyManaged).
func notMutated(f Finding, s *Settings) Finding {
	if s.Action(f.Rule) == Mutate {
		f.Action = Warn
		f.Message += " (scaleguard does not mutate ScaledObjects)"
	}
	return f
}

// onScaledObject rewrites, for the ScaledObject, the message a rule on
// HPAs wrote about the HPA KEDA builds: the fields it names become the
// ScaledObject's they are built from (newHPAForScaledObject). The
// finding's path already points there (scaledObjectFields).
func onScaledObject(msg string) string {
	fields := strings.NewReplacer(
		hpaFields.Behavior.String(), scaledObjectFields.Behavior.String(),
		hpaFields.MinReplicas.String(), scaledObjectFields.MinReplicas.String(),
		hpaFields.MaxReplicas.String(), scaledObjectFields.MaxReplicas.String(),
	)
	return strings.ReplaceAll(fields.Replace(msg), "this HPA", "the HPA KEDA builds from this ScaledObject")
}

// targetGroup is the API group of the scale target: apps when apiVersion
// is left out (ParseGVKR).
func (so *ScaledObject) targetGroup() string {
	ref := so.Spec.ScaleTargetRef
	if ref == nil || ref.APIVersion == "" {
		return scaledObjectDefaultGroup
	}
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return gv.Group
}

// scaledObjectClusterRules are the rules that look beyond the ScaledObject:
// duplicate-hpa and target-requests.
func scaledObjectClusterRules(so *ScaledObject, hpa *autoscalingv2.HorizontalPodAutoscaler, c Cluster, on func(string) bool) Findings {
	kind, name, ok := so.Target()
	if !ok {
		return nil
	}
	var out Findings
	if on(DuplicateHPA) {
		out = append(out, scaledObjectDuplicates(so, kind, name, c)...)
	}
	if on(TargetRequests) && so.targetGroup() == "apps" && (kind == KindDeployment || kind == KindStatefulSet) {
		w, err := c.Workload(so.Namespace, kind, name)
		switch {
		case err != nil:
			out = append(out, notChecked(TargetRequests, "the scale target", err))
		case w != nil:
			triggers := so.resourceTriggers()
			out = append(out, targetRequestsOfMetrics(fmt.Sprintf("ScaledObject %q", so.Name), hpa.Spec.Metrics, w, requestGaps(hpa, w, c),
				func(i int) (metric, container *field.Path) {
					trigger := pathTriggers.Index(triggers[i].index)
					return trigger, trigger.Child("metadata", kedaContainerName)
				})...)
		}
	}
	return out
}

// scaledObjectDuplicates is duplicate-hpa seen from a ScaledObject: an HPA
// of its target that is not its own (OwnsHPA), or another ScaledObject of
// it. An HPA KEDA is asked to adopt (transfersHPA) is its own to be.
func scaledObjectDuplicates(so *ScaledObject, kind, name string, c Cluster) Findings {
	var out Findings
	hpas, err := c.HPAsFor(so.Namespace, kind, name)
	if err != nil {
		out = append(out, notChecked(DuplicateHPA, "the HPAs of the target", err))
	}
	for _, h := range hpas {
		if so.OwnsHPA(h) || so.transfersHPA(h.Name) {
			continue
		}
		out = append(out, Finding{Rule: DuplicateHPA, Action: Deny, Path: pathScaleTargetRef,
			Message: fmt.Sprintf("HPA %q already scales %s %q, and KEDA would build a second HPA (%s) beside it; two autoscalers on one target fight over its replicas — delete the HPA, or let KEDA adopt it: annotate %s: \"true\" and set %s: %s",
				h.Name, kind, name, so.HPAName(), kedaTransferHPAOwnership, pathHPAConfig.Child("name"), h.Name)})
		break
	}
	sos, err := c.ScaledObjectsFor(so.Namespace, kind, name)
	if err != nil {
		out = append(out, notChecked(DuplicateHPA, "the other ScaledObjects", err))
	}
	for _, o := range sos {
		if o.Name == so.Name {
			continue
		}
		out = append(out, Finding{Rule: DuplicateHPA, Action: Deny, Path: pathScaleTargetRef,
			Message: fmt.Sprintf("ScaledObject %q already scales %s %q; two ScaledObjects on one target fight over its replicas — put all triggers in one ScaledObject",
				o.Name, kind, name)})
		break
	}
	return out
}

// kedaTransferHPAOwnership is the annotation with which a ScaledObject asks
// KEDA to adopt the existing HPA named in horizontalPodAutoscalerConfig
// (ScaledObjectTransferHpaOwnershipAnnotation, scaledobject_types.go).
const kedaTransferHPAOwnership = "scaledobject.keda.sh/transfer-hpa-ownership"

// transfersHPA reports whether the ScaledObject asks KEDA to adopt the HPA
// named hpa, which KEDA's verifyHpas then admits beside it.
func (so *ScaledObject) transfersHPA(hpa string) bool {
	c := so.hpaConfig()
	return so.Annotations[kedaTransferHPAOwnership] == "true" && c != nil && c.Name == hpa
}

// scaledObjectsOfHPA is duplicate-hpa seen from an HPA: a ScaledObject of
// its target that neither owns it nor is about to adopt it.
func scaledObjectsOfHPA(hpa *autoscalingv2.HorizontalPodAutoscaler, c Cluster) Findings {
	ref := hpa.Spec.ScaleTargetRef
	sos, err := c.ScaledObjectsFor(hpa.Namespace, ref.Kind, ref.Name)
	if err != nil {
		return Findings{notChecked(DuplicateHPA, "the ScaledObjects", err)}
	}
	for _, so := range sos {
		if so.OwnsHPA(hpa) || so.transfersHPA(hpa.Name) {
			continue
		}
		return Findings{{Rule: DuplicateHPA, Action: Deny, Path: pathScaleTargetRef,
			Message: fmt.Sprintf("ScaledObject %q already scales %s %q (KEDA builds HPA %q from it); two autoscalers on one target fight over its replicas — add this HPA's metrics to the ScaledObject as triggers",
				so.Name, ref.Kind, ref.Name, so.HPAName())}}
	}
	return nil
}

// NotMutatedNote ends the fix a mutate rule gives an HPA an externally
// managed owner rewrites (owner as externalOwner names it): set it there.
// For an HPA KEDA builds it names the ScaledObject's field to set
// (ScaledObjectFieldOf).
func NotMutatedNote(owner, rule string) string {
	where := "it"
	if at := ScaledObjectFieldOf(rule); at != nil && strings.HasPrefix(owner, KEDAOwnerPrefix) {
		where = at.String()
	}
	return " (not mutated: " + owner + " owns this HPA and would revert it; set " + where + " there)"
}

// KEDAOwnerPrefix starts externalOwner's name of a ScaledObject owner.
const KEDAOwnerPrefix = ScaledObjectGroup + " " + KindScaledObject + " "

// ScaledObjectFieldOf is the ScaledObject field KEDA builds the HPA field
// a mutate rule changes from (newHPAForScaledObject): minReplicas from
// minReplicaCount, the metrics from the triggers, the behavior from
// advanced.horizontalPodAutoscalerConfig.behavior; nil for other rules.
func ScaledObjectFieldOf(rule string) *field.Path {
	switch rule {
	case MinReplicas:
		return pathMinReplicaCount
	case MemoryTarget:
		return pathTriggers
	case BehaviorDefaults:
		return pathSOBehavior
	}
	return nil
}
