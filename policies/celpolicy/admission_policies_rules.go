package celpolicy

import (
	"fmt"
	"strings"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/scaling"
)

// The rules below are policies' rules written again in CEL, finding for
// finding and word for word: requests.go, hpa_rules.go, consistency.go,
// exempt.go. They judge the object a validating policy sees, which the API
// server has defaulted and validated (policies exist, values are positive,
// container names unique), and guard every field all the same. Where a
// message cannot be the webhook's exactly, the comment says so;
// docs/operations.md lists the differences.

// exportedRules are the rules CEL can express, in catalogue order. The
// others need the cluster (targets, other HPAs, LimitRanges, metrics
// APIs) or the scaling arithmetic, and stay the webhook's.
func exportedRules(s *policies.Settings) []exportedRule {
	r := &s.Rules
	var out []exportedRule
	if len(r.RequestsRequired.Resources) > 0 {
		out = append(out, requestsRequiredRule(s))
	}
	out = append(out, hpaAPIVersionRule())
	out = append(out, gate(mutateRule(s, policies.MinReplicas, minReplicasFixes(r.MinReplicas.Minimum), minReplicasDenials(r.MinReplicas.Minimum), minReplicasPatch),
		minReplicasBelow(r.MinReplicas.Minimum)))
	out = append(out, gate(mutateRule(s, policies.MemoryTarget, memoryTargetFixes(r.MemoryTarget.AverageUtilization), nil, memoryTargetPatch), "!("+hasMemoryMetric("object")+")"))
	out = append(out, gate(mutateRule(s, policies.BehaviorDefaults, behaviorDefaultsFixes(r.BehaviorDefaults), nil, behaviorDefaultsPatch), behaviorDiffers(r.BehaviorDefaults)))
	out = append(out, behaviorConsistencyRule(r.BehaviorConsistency.DownscaleStabilizationSeconds))
	out = append(out, exemptionReasonRule(s))
	return out
}

// gate sets r's gate.
func gate(r exportedRule, expression string) exportedRule {
	r.gate = expression
	return r
}

// entrySep joins a container's findings so that all of them can be
// flattened into one list: CEL before Kubernetes 1.34 has no flatten().
// Nothing a finding holds (container names are DNS labels) contains it.
const entrySep = "\x1f"

// flatten turns a CEL list of strings, each findings joined by entrySep
// (or empty), into the list of findings.
func flatten(groups string) string {
	sep := quote(entrySep)
	return "(" + groups + ").filter(g, g != '').join(" + sep + ").split(" + sep + ").filter(e, e != '')"
}

// goQuote writes the CEL string expr the way Go's %q does for the strings
// it meets here: backslash, double quote, newline, carriage return and tab
// escaped. Other control characters and non-printable runes, which %q
// escapes too, are left as they are (docs/operations.md).
func goQuote(expr string) string {
	escaped := "(" + expr + ")"
	for _, r := range []struct{ from, to string }{{`\`, `\\`}, {`"`, `\"`}, {"\n", `\n`}, {"\r", `\r`}, {"\t", `\t`}} {
		escaped += ".replace(" + quote(r.from) + ", " + quote(r.to) + ")"
	}
	return `'"' + ` + escaped + ` + '"'`
}

// either is a CEL list of one finding "<path>: <message>" when cond holds,
// else an empty one; message is a CEL string expression.
func either(cond, path, message string) string {
	return "((" + cond + ") ? [" + quote(path+": ") + " + " + message + "] : [])"
}

// requestsRequiredRule is requestsRequired (requests.go) without the
// LimitRanges: a policy sees no other object, so a request a namespace's
// LimitRange would fill in at Pod creation counts as missing here.
func requestsRequiredRule(s *policies.Settings) exportedRule {
	resources := stringList(s.Rules.RequestsRequired.Resources)
	// The resources each container lacks, requests as zero, or has only a
	// limit for (t[2], t[3], t[4] of perCountedContainer's tuples).
	lacking := func(c, podReq, podLim string) []string {
		req, lim := c+".?resources.?requests.orValue({})", c+".?resources.?limits.orValue({})"
		return []string{
			resources + ".filter(r, !(r in " + req + ") && !(r in " + podReq + ") && !(r in " + lim + ") && !(r in " + podLim + "))",
			resources + ".filter(r, r in " + req + " && isQuantity(string(" + req + "[r])) && quantity(string(" + req + "[r])).compareTo(quantity('0')) == 0)",
			resources + ".filter(r, !(r in " + req + ") && !(r in " + podReq + ") && (r in " + lim + " || r in " + podLim + "))",
		}
	}
	return exportedRule{
		id:   policies.RequestsRequired,
		kind: workloads,
		gate: requestsLacking(s.Rules.RequestsRequired.Resources),
		denials: func(o string) string {
			return perCountedContainer(o, lacking, func(t string) string {
				return "[size(" + t + "[2]) > 0 ? " + t + "[0][0] + ': ' + " + t + "[1][0] + ' requests no ' + " + t + "[2].join(' or ') + " +
					"'; set resources.requests.' + " + t + "[2].join(' and .') + ' (the HPA cannot compute utilization without it)' : '', " +
					"size(" + t + "[3]) > 0 ? " + t + "[0][0] + ': ' + " + t + "[1][0] + ' requests 0 ' + " + t + "[3].join(' and ') + " +
					"'; request a positive amount (utilization of a zero request is undefined)' : ''" +
					"].filter(e, e != '').join(" + quote(entrySep) + ")"
			})
		},
		warnings: func(o string) string {
			return perCountedContainer(o, lacking, func(t string) string {
				return "size(" + t + "[4]) > 0 ? " + t + "[0][0] + ': ' + " + t + "[1][0] + ' has a ' + " + t + "[4].join(' and ') + " +
					"\" limit but no request; Kubernetes copies the limit into the Pod's request, so write resources.requests.\" + " +
					t + "[4].join(' and .') + ' explicitly' : ''"
			})
		},
	}
}

// perCountedContainer lists the findings of the containers the HPA
// controller counts, app containers then sidecars, in index order. Each
// container c becomes a tuple t of string lists: [[its requests path],
// [its kind and quoted name, "container \"app\""], columns(c)...], and
// format(t) its findings joined by entrySep. columns gets the container
// and the pod-level requests and limits.
//
// The webhook orders findings by path as text, so a pod with more than ten
// containers of one kind lists containers[10] before containers[2]; here
// they come in index order (CEL before 1.34 cannot sort).
func perCountedContainer(o string, columns func(c, podReq, podLim string) []string, format func(t string) string) string {
	spec := o + ".?spec.?template.?spec"
	group := func(field, kind, filter string) string {
		all := list(spec + ".?" + field)
		// Container names are unique in a pod, so a name's index is the
		// container's: CEL before 1.32 has no indexed comprehension.
		index := "string(" + all + ".map(x, x.?name.orValue('')).indexOf(c.?name.orValue('')))"
		path := quote("spec.template.spec."+field+"[") + " + " + index + " + '].resources.requests'"
		tuple := "[[" + path + "], [" + quote(kind+" ") + " + " + goQuote("c.?name.orValue('')") + "]"
		for _, col := range columns("c", spec+".?resources.?requests.orValue({})", spec+".?resources.?limits.orValue({})") {
			tuple += ", " + col
		}
		return all + filter + ".map(c, " + tuple + "]).map(t, " + format("t") + ")"
	}
	return flatten(group("containers", "container", "") + " + " +
		group("initContainers", "sidecar", ".filter(c, c.?restartPolicy.orValue('') == 'Always')"))
}

// hpaAPIVersionRule is apiVersionRule: the request kind says what the
// client wrote, the object arrives converted to autoscaling/v2.
func hpaAPIVersionRule() exportedRule {
	const written = "(request.requestKind.group + '/' + request.requestKind.version)"
	cpu := list("object.?spec.?metrics") + ".filter(m, m.?resource.?name.orValue('') == 'cpu' && m.?resource.?target.?averageUtilization.hasValue())"
	target := "(" + written + " == 'autoscaling/v1' && size(" + cpu + ") > 0 ? " +
		quote(" and replace targetCPUUtilizationPercentage with spec.metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: ") +
		" + string(" + cpu + "[0].resource.target.averageUtilization) + '}}}]' : '')"
	return exportedRule{
		id:   policies.HPAAPIVersion,
		kind: hpas,
		denials: func(string) string {
			return either("request.requestKind.group != request.kind.group || request.requestKind.version != request.kind.version", "apiVersion",
				written+" + ' cannot express behavior or memory targets; write apiVersion: autoscaling/v2' + "+target+" + ' (scaleguard check --fix converts it)'")
		},
		// The webhook judges the old object without a request kind.
		noSoftening: true,
	}
}

// Suffix the webhook gives a mutate rule's fix (evaluate.go).
const notAppliedSuffix = " (scaleguard's mutation was not applied)"

// notMutated is the note the webhook ends a mutate rule's fix with on an
// HPA an externally managed owner rewrites (policies.NotMutatedNote):
// owner is a CEL expression of the owner's name, as owners lists it.
func notMutated(id, owner string) string {
	const marker = "\x00"
	generic := policies.NotMutatedNote(marker, id)
	keda := policies.NotMutatedNote(policies.KEDAOwnerPrefix+marker, id)
	before, after, _ := strings.Cut(generic, marker)
	_, kedaAfter, _ := strings.Cut(keda, marker)
	if kedaAfter == after {
		return quote(before) + " + " + owner + " + " + quote(after)
	}
	return quote(before) + " + " + owner + " + (" + owner + ".startsWith(" + quote(policies.KEDAOwnerPrefix) + ") ? " + quote(kedaAfter) + " : " + quote(after) + ")"
}

// mutateRule is a rule that can mutate, as EvaluateHPA runs it on the
// final object: what it would change (fixes) is refused under deny, warned
// about under warn, and under mutate refused as "not applied" — the
// mutating policy changed it unless it failed — or, for an HPA an
// externally managed owner rewrites, warned about naming the owner.
// extra are denials of the rule that no mutation can fix.
func mutateRule(s *policies.Settings, id string, fixes, extra func(o string) string, patch func(*policies.Settings) string) exportedRule {
	r := exportedRule{id: id, kind: hpas, fixes: fixes, patch: patch}
	mutates := s.Action(id) == policies.Mutate
	r.denials = func(o string) string {
		d := fixes(o)
		if mutates {
			d = "(" + d + ").map(e, e + " + quote(notAppliedSuffix) + ")"
			if owned := owners(s.ExternallyManaged, o); owned != "" {
				d = "(size(" + owned + ") > 0 ? [] : " + d + ")"
			}
			if o == "object" && denied(s, policies.HPAAPIVersion) {
				// A mutating policy cannot patch an autoscaling/v1 request:
				// the API server (1.36, 1.37) converts the patched v2 object
				// straight to v1, which fails ("unknown conversion"), and the
				// policy's failurePolicy Ignore skips it. hpa-api-version
				// refuses such a request anyway; its message alone is the
				// webhook's, so the mutations are not reported missing.
				d = "(" + v1Refused(s) + " ? [] : " + d + ")"
			}
		}
		if extra != nil {
			d = extra(o) + " + " + d
		}
		return d
	}
	if owned := owners(s.ExternallyManaged, "object"); mutates && owned != "" {
		r.warnings = func(o string) string {
			owned := owners(s.ExternallyManaged, o)
			return "(size(" + owned + ") > 0 ? (" + fixes(o) + ").map(e, e + " + notMutated(id, owned+"[0]") + ") : [])"
		}
	}
	return r
}

// v1Refused: hpa-api-version refuses the request, written in another
// version than autoscaling/v2 by a client.
func v1Refused(s *policies.Settings) string {
	return "(request.requestKind.group != request.kind.group || request.requestKind.version != request.kind.version) && !(" +
		exempt(s, policies.HPAAPIVersion, "object") + ")"
}

// owners lists how the webhook names each owner of HPA o of an externally
// managed kind ("keda.sh ScaledObject \"web\""), in the order of the
// owner references; "" when no kind is externally managed. The group is
// read from apiVersion as schema.ParseGroupVersion does: "g/v" is group g,
// "v" the core group, more than one slash no group at all.
func owners(kinds []policies.OwnerKind, o string) string {
	if len(kinds) == 0 {
		return ""
	}
	parts := "r.?apiVersion.orValue('').split('/')"
	group := "(size(" + parts + ") == 2 ? " + parts + "[0] : '')"
	var terms []string
	for _, k := range kinds {
		terms = append(terms, group+" == "+quote(k.APIGroup)+" && r.?kind.orValue('') == "+quote(k.Kind))
	}
	return list(o+".?metadata.?ownerReferences") + ".filter(r, size(" + parts + ") <= 2 && (" + strings.Join(terms, " || ") + "))" +
		".map(r, " + group + " + ' ' + r.?kind.orValue('') + ' ' + " + goQuote("r.?name.orValue('')") + ")"
}

// minReplicasFixes is minReplicasRule's mutation: an absent minReplicas
// is 1, as the API server defaults it.
func minReplicasFixes(minimum int32) func(o string) string {
	return func(o string) string {
		current, max := o+".?spec.?minReplicas.orValue(1)", o+".?spec.?maxReplicas.orValue(0)"
		return either(fmt.Sprintf("%s < %d && %s >= %d", current, minimum, max, minimum), "spec.minReplicas",
			fmt.Sprintf("'minReplicas is ' + string(%s) + '; set spec.minReplicas: %d so one pod lost is not an outage'", current, minimum))
	}
}

// minReplicasDenials: raising minReplicas above maxReplicas would make an
// invalid object, so the HPA is refused instead.
func minReplicasDenials(minimum int32) func(o string) string {
	return func(o string) string {
		current, max := o+".?spec.?minReplicas.orValue(1)", o+".?spec.?maxReplicas.orValue(0)"
		return either(fmt.Sprintf("%s < %d && %s < %d", current, minimum, max, minimum), "spec.maxReplicas",
			fmt.Sprintf("'maxReplicas is ' + string(%s) + ', below the required minimum of %d replicas; set spec.maxReplicas to at least %d'", max, minimum, minimum))
	}
}

// hasMemoryMetric: a Resource or ContainerResource metric on memory.
func hasMemoryMetric(o string) string {
	return list(o+".?spec.?metrics") + ".exists(m, m.?resource.?name.orValue('') == 'memory' || m.?containerResource.?name.orValue('') == 'memory')"
}

func memoryTargetFixes(percent int32) func(o string) string {
	return func(o string) string {
		return either("!("+hasMemoryMetric(o)+")", "spec.metrics",
			quote(fmt.Sprintf("no memory metric; add {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: %d}}} to spec.metrics", percent)))
	}
}

// behaviorState holds the CEL of behaviorDefaultsRule's decisions on o.
type behaviorState struct{ none, up, down, fill string }

func behaviorOf(o string, b policies.BehaviorDefaultsSettings) behaviorState {
	bh := o + ".?spec.?behavior"
	st := behaviorState{
		none: bh + ".orValue(null) == null",
		up:   "(" + bh + ".?scaleUp.orValue(null) == null || " + bh + ".?scaleUp.orValue(null) == " + literal(scaling.KubernetesScaleUpRules()) + ")",
		down: "(" + bh + ".?scaleDown.orValue(null) == null || " + bh + ".?scaleDown.orValue(null) == " + literal(scaling.KubernetesScaleDownRules()) + ")",
		fill: "false",
	}
	if sd := b.Behavior.ScaleDown; sd != nil && sd.StabilizationWindowSeconds != nil {
		st.fill = "(!" + st.down + " && !" + bh + ".?scaleDown.?stabilizationWindowSeconds.hasValue())"
	}
	return st
}

// standardWindow is the scale-down window the standard writes out.
func standardWindow(b policies.BehaviorDefaultsSettings) int32 {
	if sd := b.Behavior.ScaleDown; sd != nil && sd.StabilizationWindowSeconds != nil {
		return *sd.StabilizationWindowSeconds
	}
	return 0
}

// behaviorDefaultsFixes is behaviorDefaultsRule's fix, one finding whose
// path says what is replaced.
func behaviorDefaultsFixes(b policies.BehaviorDefaultsSettings) func(o string) string {
	return func(o string) string {
		st := behaviorOf(o, b)
		one := func(path, msg string) string { return "[" + quote(path+": "+msg) + "]" }
		return "(" + st.none + " ? " + one("spec.behavior", "no behavior; add spec.behavior with scaleUp and scaleDown policies (see docs/rules.md#behavior-defaults)") +
			" : " + st.up + " && " + st.down + " ? " + one("spec.behavior", "behavior has only Kubernetes's defaults; set spec.behavior.scaleUp and .scaleDown") +
			" : " + st.up + " ? " + one("spec.behavior.scaleUp", "scaleUp has only Kubernetes's defaults; set spec.behavior.scaleUp") +
			" : " + st.down + " ? " + one("spec.behavior.scaleDown", "scaleDown has only Kubernetes's defaults; set spec.behavior.scaleDown") +
			" : " + st.fill + " ? " + one("spec.behavior.scaleDown.stabilizationWindowSeconds", fmt.Sprintf("scaleDown.stabilizationWindowSeconds is unset; set it to %d", standardWindow(b))) +
			" : [])"
	}
}

// behaviorConsistencyRule is behaviorConsistency without the arithmetic:
// what Stuck finds without simulating (a Disabled direction, a Percent-only
// scale-up from 0, a tolerance no usage ratio can leave), minReplicas
// equal to maxReplicas, and inverted windows. The fastest paths to the
// bounds (the time-to-max and time-to-min warnings) are the webhook's.
// downscale is the controller's default scale-down window.
func behaviorConsistencyRule(downscale int32) exportedRule {
	bounds := func(o string) (min, max, valid string) {
		min, max = o+".?spec.?minReplicas.orValue(1)", o+".?spec.?maxReplicas.orValue(0)"
		return min, max, "(" + max + " >= " + min + " && " + min + " >= 0)"
	}
	return exportedRule{
		id:   policies.BehaviorConsistency,
		kind: hpas,
		denials: func(o string) string {
			min, max, valid := bounds(o)
			bh := o + ".?spec.?behavior"
			noBehavior := bh + ".orValue(null) == null"
			// A tolerance as the controller reads it (AsApproximateFloat64);
			// %g and CEL's string(double) print a double alike.
			tolerance := func(dir string) string {
				t := "string(" + bh + ".?" + dir + ".?tolerance.orValue(''))"
				return "(isQuantity(" + t + ") ? quantity(" + t + ").asApproximateFloat() : 0.1)"
			}
			never := func(dir string) string { return "'this HPA can never " + dir + ": " }
			down := "(" + tolerance("scaleDown") + " >= 1.0 ? " +
				"[" + quote("spec.behavior.scaleDown.tolerance: ") + " + " + never("scale down") + "scale-down tolerance ' + string(" + tolerance("scaleDown") + ") + ' >= 1: usage can never fall below the band, stays at ' + string(" + max + ") + ' replicas; lower the tolerance'] : " +
				noBehavior + " ? [] : " +
				bh + ".?scaleDown.?selectPolicy.orValue('') == 'Disabled' ? " +
				"[" + quote("spec.behavior.scaleDown.selectPolicy: ") + " + " + never("scale down") + "scale-down is Disabled: stays at ' + string(" + max + ") + ' replicas; set selectPolicy: Max or Min'] : [])"
			policiesUp := list(bh + ".?scaleUp.?policies")
			selectUp := bh + ".?scaleUp.?selectPolicy.orValue('Max')"
			// From 0 replicas a Percent policy allows 0, a Pods policy its
			// value (positive, as the API server validates): Max is stuck
			// with no Pods policy, Min with any Percent one.
			stuckAtZero := "(" + min + " == 0 && size(" + policiesUp + ") > 0 && (" + selectUp + " == 'Min' ? " +
				policiesUp + ".exists(p, p.?type.orValue('') == 'Percent') : !" + policiesUp + ".exists(p, p.?type.orValue('') == 'Pods')))"
			up := "(" + tolerance("scaleUp") + " > 1.7976931348623157e308 ? " +
				"[" + quote("spec.behavior.scaleUp.tolerance: ") + " + " + never("scale up") + "scale-up tolerance is infinite: never scales up; lower the tolerance'] : " +
				noBehavior + " ? [] : " +
				selectUp + " == 'Disabled' ? " +
				"[" + quote("spec.behavior.scaleUp.selectPolicy: ") + " + " + never("scale up") + "scale-up is Disabled: stays at ' + string(" + min + ") + ' replicas; set selectPolicy: Max or Min'] : " +
				stuckAtZero + " ? [" + quote("spec.behavior.scaleUp.policies: ") + " + " + never("scale up") + "' + (" + selectUp + " == 'Min' ? " +
				quote("selectPolicy Min picks a Percent policy, which adds nothing to 0 replicas: never scales up from 0") + " : " +
				quote("Percent policies add nothing to 0 replicas: never scales up from 0") + ") + '; add a Pods policy or set minReplicas to at least 1'] : [])"
			// In path order, as the webhook sorts them: scaleDown before scaleUp.
			return "(" + valid + " && " + min + " != " + max + " ? " + down + " + " + up + " : [])"
		},
		warnings: func(o string) string {
			min, max, valid := bounds(o)
			bh := o + ".?spec.?behavior"
			upWindow := bh + ".?scaleUp.?stabilizationWindowSeconds.orValue(0)"
			downWindow := bh + fmt.Sprintf(".?scaleDown.?stabilizationWindowSeconds.orValue(%d)", downscale)
			return "(!" + valid + " ? [] : " + min + " == " + max + " ? " +
				"[" + quote("spec.maxReplicas: ") + " + 'minReplicas equals maxReplicas (' + string(" + max + ") + '), so this HPA can never scale; raise spec.maxReplicas or remove the HPA'] : " +
				either(bh+".orValue(null) != null && "+upWindow+" > "+downWindow, "spec.behavior.scaleUp.stabilizationWindowSeconds",
					"'scale-up waits ' + string("+upWindow+") + 's but scale-down only ' + string("+downWindow+") + 's, so load is answered more slowly than its absence; make the scale-up window the shorter'") + ")"
		},
	}
}

// exemptionReasonRule is exemptions' problems (exempt.go). Unknown rule
// IDs are quoted as %q quotes them (goQuote).
func exemptionReasonRule(s *policies.Settings) exportedRule {
	var known []string
	for _, info := range policies.Catalogue() {
		known = append(known, info.ID)
	}
	return exportedRule{
		id:   policies.ExemptionReason,
		kind: workloadsAndHPAs,
		// Every finding is about the exemption annotation.
		gate: annotationsOf("object") + "[?" + quote(policies.AnnotationExempt) + "].hasValue()",
		denials: func(o string) string {
			a := annotationsOf(o)
			value := a + "[?" + quote(policies.AnnotationExempt) + "]"
			path := "metadata.annotations[" + policies.AnnotationExempt + "]"
			if !s.ExemptionAnnotations {
				return either(value+".hasValue()", path, quote("exemption annotations are turned off in scaleguard's settings; every rule applies"))
			}
			unknown := value + ".orValue('').split(',').map(x, x.trim()).filter(x, x != '' && x != '*' && !(x in " + stringList(known) + "))"
			return "(!" + value + ".hasValue() ? [] : " +
				a + "[?" + quote(policies.AnnotationExemptReason) + "].orValue('').trim() == '' ? " +
				"[" + quote(path+": exemption ignored: add annotation "+policies.AnnotationExemptReason+" saying why") + "] : " +
				either("size("+unknown+") > 0", path,
					"'unknown rule ' + "+unknown+".map(x, "+goQuote("x")+").join(', ') + "+
						quote(" in "+policies.AnnotationExempt+"; use rule IDs from docs/rules.md, comma-separated")) + ")"
		},
	}
}
