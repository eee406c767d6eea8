package celpolicy

import (
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// Webhook names one of scaleguard's six webhooks, by the name it has in
// the webhook configurations.
type Webhook string

const (
	HPAMutate        Webhook = "hpa.mutate.scaleguard.io"
	HPAValidate      Webhook = "hpa.validate.scaleguard.io"
	WorkloadMutate   Webhook = "workload.mutate.scaleguard.io"
	WorkloadValidate Webhook = "workload.validate.scaleguard.io"
	VPAValidate      Webhook = "vpa.validate.scaleguard.io"
	// ScaledObjectValidate judges KEDA ScaledObjects.
	ScaledObjectValidate Webhook = "so.validate.scaleguard.io"
)

// Webhooks lists the six, mutating first.
var Webhooks = []Webhook{HPAMutate, WorkloadMutate, HPAValidate, WorkloadValidate, VPAValidate, ScaledObjectValidate}

// Names of the conditions, as the API server reports them (a skipped call is
// counted by the first condition that was false).
const (
	// ConditionNamespace is false in a namespace the settings exempt.
	ConditionNamespace = "scaleguard-namespace-not-exempt"
	// ConditionFindings is false when no rule the webhook runs can find
	// anything in the write.
	ConditionFindings = "scaleguard-could-find"
)

// MatchConditions are the conditions of webhook w under settings s: the API
// server calls the webhook only when every one is true. They are a
// superset of "some rule could report something" — a write they let
// through gets exactly the webhook's verdict, a write they skip would have
// been admitted unchanged and without a warning — except where the webhook
// documents otherwise (docs/rules.md, "which writes reach the webhook").
func MatchConditions(w Webhook, s *policies.Settings) []admissionregistrationv1.MatchCondition {
	var out []admissionregistrationv1.MatchCondition
	if len(s.ExemptNamespaces) > 0 {
		out = append(out, admissionregistrationv1.MatchCondition{
			Name:       ConditionNamespace,
			Expression: "!(request.namespace in " + stringList(s.ExemptNamespaces) + ")",
		})
	}
	var expr string
	switch w {
	case HPAMutate:
		expr = hpaMutateCondition(s)
	case HPAValidate:
		expr = hpaValidateCondition(s)
	case WorkloadMutate:
		expr = workloadMutateCondition(s)
	case WorkloadValidate:
		expr = workloadValidateCondition(s)
	case VPAValidate:
		expr = vpaValidateCondition(s)
	case ScaledObjectValidate:
		expr = scaledObjectValidateCondition(s)
	default:
		panic(fmt.Sprintf("celpolicy: unknown webhook %q", w))
	}
	return append(out, admissionregistrationv1.MatchCondition{Name: ConditionFindings, Expression: expr})
}

// never is the condition of a webhook none of whose rules is on.
const never = "false"

// anyOf joins the non-empty terms with ||; no term is never.
func anyOf(terms ...string) string {
	var kept []string
	for _, t := range terms {
		if t != "" {
			kept = append(kept, "("+t+")")
		}
	}
	if len(kept) == 0 {
		return never
	}
	return strings.Join(kept, " || ")
}

// when returns term if on, else nothing.
func when(on bool, term string) string {
	if on {
		return term
	}
	return ""
}

func on(s *policies.Settings, id string) bool { return s.Action(id) != policies.Off }

// Pieces of the expressions. Every field is read through optional selection
// (.?field, orValue): the mutating webhooks' conditions run before the API
// server validates the object, so even required fields may be absent.
const (
	isCreate = "request.operation == 'CREATE'"
	isUpdate = "request.operation == 'UPDATE'"

	annotations    = "object.?metadata.?annotations.orValue({})"
	oldAnnotations = "oldObject.?metadata.?annotations.orValue({})"
	ownerRefs      = "object.?metadata.?ownerReferences.orValue([])"
	oldOwnerRefs   = "oldObject.?metadata.?ownerReferences.orValue([])"

	podSpec    = "object.?spec.?template.?spec"
	oldPodSpec = "oldObject.?spec.?template.?spec"
)

// annotationPrefix is what every annotation scaleguard reads starts with.
var annotationPrefix = strings.TrimSuffix(policies.AnnotationExempt, "exempt")

// hasOwnAnnotation: the object carries a scaleguard.io/ annotation.
func hasOwnAnnotation() string {
	return annotations + ".exists(k, k.startsWith(" + quote(annotationPrefix) + "))"
}

// ownAnnotationsChanged: an UPDATE adds, removes or changes a
// scaleguard.io/ annotation.
func ownAnnotationsChanged() string {
	p := quote(annotationPrefix)
	return annotations + ".exists(k, k.startsWith(" + p + ") && (!(k in " + oldAnnotations + ") || " + oldAnnotations + "[k] != " + annotations + "[k])) || " +
		oldAnnotations + ".exists(k, k.startsWith(" + p + ") && !(k in " + annotations + "))"
}

// list reads the list at an optional path, or an empty list when it is
// absent or null (a typed object with no containers is written with
// "containers": null, since that field has no omitempty).
func list(path string) string {
	return "(type(" + path + ".orValue([])) == list ? " + path + ".orValue([]) : [])"
}

// counted lists the containers the HPA controller sums requests over: app
// containers and restartable init containers (policies' countedContainers).
func counted(spec string) string {
	return list(spec+".?containers") + " + " + list(spec+".?initContainers") + ".filter(c, c.?restartPolicy.orValue('') == 'Always')"
}

// requests and limits of container c.
const (
	requests = "c.?resources.?requests.orValue({})"
	limits   = "c.?resources.?limits.orValue({})"
)

// lacksRequest: container c has no explicit request, or a zero one, for a
// resource of rs. A zero quantity is always written "0" in the object the
// API server hands to CEL (resource.Quantity's canonical form), and no other
// canonical quantity starts with a 0.
func lacksRequest(rs string) string {
	return rs + ".exists(r, !(r in " + requests + ") || string(c.resources.requests[r]).startsWith('0'))"
}

// cappedContainer: container c has a limit equal to its request, or a limit
// without a request (which becomes the request): its usage cannot pass 100 %
// of the request, the case utilization-reachable judges.
func cappedContainer() string {
	lim, req := "string(c.resources.limits[r])", "string(c.resources.requests[r])"
	return limits + ".exists(r, !(r in " + requests + ") || !isQuantity(" + lim + ") || !isQuantity(" + req + ") || " +
		"quantity(" + lim + ").compareTo(quantity(" + req + ")) == 0)"
}

// workloadValidateCondition: a Deployment or StatefulSet is sent when
//   - a counted container lacks an explicit, non-zero request for a
//     required resource (requests-required; the webhook then judges
//     pod-level requests, limits and LimitRanges);
//   - without pod-level requests, a counted container's limit equals its
//     request (utilization-reachable, judged against the HPAs that scale it);
//   - it carries scaleguard.io/ annotations on CREATE (exemptions), or
//   - an UPDATE changes spec.replicas (hpa-replicas-conflict), the
//     containers' names or resources or the pod-level resources
//     (target-requests, utilization-reachable), or a scaleguard.io/
//     annotation.
func workloadValidateCondition(s *policies.Settings) string {
	r := &s.Rules
	requestsOn := on(s, policies.RequestsRequired) && len(r.RequestsRequired.Resources) > 0
	targetsOn := on(s, policies.TargetRequests) || on(s, policies.UtilizationReachable)
	anyOn := requestsOn || targetsOn || on(s, policies.HPAReplicasConflict) || on(s, policies.ExemptionReason)
	if !anyOn {
		return never
	}
	// What target-requests and utilization-reachable read of the pod: the
	// containers' names and resources, the sidecars' restart policy, the
	// pod-level resources.
	resourcesChanged := anyOf(
		list(podSpec+".?containers")+".map(c, [c.?name.orValue(''), c.?resources.orValue({})]) != "+
			list(oldPodSpec+".?containers")+".map(c, [c.?name.orValue(''), c.?resources.orValue({})])",
		list(podSpec+".?initContainers")+".map(c, [c.?name.orValue(''), c.?restartPolicy.orValue(''), c.?resources.orValue({})]) != "+
			list(oldPodSpec+".?initContainers")+".map(c, [c.?name.orValue(''), c.?restartPolicy.orValue(''), c.?resources.orValue({})])",
		podSpec+".?resources.orValue({}) != "+oldPodSpec+".?resources.orValue({})",
	)
	update := anyOf(
		when(on(s, policies.HPAReplicasConflict), replicasChanged),
		when(targetsOn, resourcesChanged),
		ownAnnotationsChanged(),
	)
	return anyOf(
		when(requestsOn, requestsLacking(r.RequestsRequired.Resources)),
		when(on(s, policies.UtilizationReachable),
			"size("+podSpec+".?resources.?requests.orValue({})) == 0 && ("+counted(podSpec)+").exists(c, "+cappedContainer()+")"),
		isCreate+" && "+hasOwnAnnotation(),
		isUpdate+" && ("+update+")",
	)
}

// replicasChanged mirrors hpa-replicas-conflict: an absent count is 1.
const replicasChanged = "object.?spec.?replicas.orValue(1) != oldObject.?spec.?replicas.orValue(1)"

// workloadMutateCondition: the workload mutator only keeps spec.replicas
// (hpa-replicas-conflict set to mutate), so it is sent an UPDATE that
// changes the count, and nothing under any other setting.
func workloadMutateCondition(s *policies.Settings) string {
	if s.Action(policies.HPAReplicasConflict) != policies.Mutate {
		return never
	}
	return isUpdate + " && " + replicasChanged
}

// hpaValidateCondition: the validating webhook judges cross-object rules
// (the target, other HPAs, the metrics APIs), so every CREATE is sent, and
// every UPDATE that changes what a rule reads: the spec, a scaleguard.io/
// annotation or the owners (externallyManaged). An update written in
// another API version than autoscaling/v2 is sent too (hpa-api-version).
// A metadata-only UPDATE, such as a label or the controller's own
// annotations, is not.
func hpaValidateCondition(s *policies.Settings) string {
	anyOn := false
	for _, info := range policies.Catalogue() {
		for _, k := range info.Kinds {
			if k == policies.KindHPA && on(s, info.ID) {
				anyOn = true
			}
		}
	}
	if !anyOn {
		return never
	}
	return anyOf(
		isCreate,
		when(on(s, policies.HPAAPIVersion), "request.requestKind.group != 'autoscaling' || request.requestKind.version != 'v2'"),
		isUpdate+" && ("+anyOf(
			"object.?spec.orValue({}) != oldObject.?spec.orValue({})",
			ownAnnotationsChanged(),
			ownerRefs+" != "+oldOwnerRefs,
		)+")",
	)
}

// hpaMutateCondition: the HPA mutator changes minReplicas, the metrics and
// the behavior, each only when it differs from the standard, and never an
// HPA an externally managed owner rewrites.
func hpaMutateCondition(s *policies.Settings) string {
	r := &s.Rules
	mutates := func(id string) bool { return s.Action(id) == policies.Mutate }
	differs := anyOf(
		when(mutates(policies.MinReplicas),
			// Below the minimum; when maxReplicas is below it too, the
			// validating webhook refuses the HPA instead.
			minReplicasBelow(r.MinReplicas.Minimum)+fmt.Sprintf(" && object.?spec.?maxReplicas.orValue(0) >= %d", r.MinReplicas.Minimum)),
		when(mutates(policies.MemoryTarget), "!("+hasMemoryMetric("object")+")"),
		when(mutates(policies.BehaviorDefaults), behaviorDiffers(r.BehaviorDefaults)),
	)
	if differs == never {
		return never
	}
	if owned := owners(s.ExternallyManaged, "object"); owned != "" {
		return "size(" + owned + ") == 0 && (" + differs + ")"
	}
	return differs
}

// minReplicasBelow: the HPA's minReplicas (1 when absent) is below minimum.
func minReplicasBelow(minimum int32) string {
	return fmt.Sprintf("object.?spec.?minReplicas.orValue(1) < %d", minimum)
}

// requestsLacking mirrors the part of requests-required every finding
// starts from: a counted container without an explicit, non-zero request
// for one of resources.
func requestsLacking(resources []corev1.ResourceName) string {
	return "(" + counted(podSpec) + ").exists(c, " + lacksRequest(stringList(resources)) + ")"
}

// behaviorDiffers mirrors behaviorDefaultsRule: no behavior, a direction
// missing or equal to what the API server fills in by itself, or a
// scale-down window left to the controller's flag when the standard sets
// one (behaviorOf, which the exported policies decide by too).
func behaviorDiffers(b policies.BehaviorDefaultsSettings) string {
	st := behaviorOf("object", b)
	return anyOf(st.none, st.up, st.down, when(st.fill != "false", st.fill))
}

// vpaValidateCondition mirrors policies.EvaluateVPA, whose one rule is
// hpa-vpa-conflict: a VerticalPodAutoscaler is sent on CREATE, and on an
// UPDATE that changes its spec or a scaleguard.io/ annotation, unless its
// updateMode is Off or Initial (policies.VPA.UpdatesRunningPods), which
// can never conflict. The mode is compared only when it is a string, so
// an odd object is sent rather than failing the condition.
func vpaValidateCondition(s *policies.Settings) string {
	if !on(s, policies.HPAVPAConflict) {
		return never
	}
	mode := "object.?spec.?updatePolicy.?updateMode.orValue('')"
	passive := "type(" + mode + ") == string && " + mode + " in " +
		stringList([]string{policies.VPAUpdateModeOff, policies.VPAUpdateModeInitial})
	return "!(" + passive + ") && (" + anyOf(
		isCreate,
		isUpdate+" && ("+anyOf(
			"object.?spec.orValue({}) != oldObject.?spec.orValue({})",
			ownAnnotationsChanged(),
		)+")",
	) + ")"
}

// maxUnion is how many distinct conditions MatchConditionsOfAll joins;
// past it the webhook is sent every write of its kinds, which is always a
// superset and keeps the expression far from the API server's cost limit.
const maxUnion = 8

// MatchConditionsOfAll are the conditions of webhook w when objects may be
// judged with any of the settings all (one per standard a namespace may
// have, the cluster-wide ones first): a write is sent when the
// conditions of any of them would send it. The namespace condition is
// the first settings', whose exemptions are cluster-wide.
func MatchConditionsOfAll(w Webhook, all []*policies.Settings) []admissionregistrationv1.MatchCondition {
	out := MatchConditions(w, all[0])
	if len(all) == 1 {
		return out
	}
	var terms []string
	for _, s := range all {
		conds := MatchConditions(w, s)
		e := conds[len(conds)-1].Expression
		if e != never && !slices.Contains(terms, e) {
			terms = append(terms, e)
		}
	}
	var expr string
	switch {
	case len(terms) == 0:
		expr = never
	case len(terms) == 1:
		expr = terms[0]
	case len(terms) > maxUnion:
		expr = "true"
	default:
		expr = anyOf(terms...)
	}
	out[len(out)-1].Expression = expr
	return out
}
