package audit

import (
	"cmp"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaleguard/scaleguard/policies"
)

// Objects are the stored objects one scan judges. Scan never modifies
// them, so they may be a source's own.
type Objects struct {
	// Workloads are the Deployments, StatefulSets and objects of the kinds
	// settings.workloadKinds lists.
	Workloads []Workload
	HPAs      []autoscalingv2.HorizontalPodAutoscaler
	// LimitRanges, Namespaces and VPAs are read only when Scan builds its
	// own view of the cluster (a nil Cluster); see Snapshot. A namespace's
	// labels say whether it opts out (policies.NamespaceExempt). The
	// VerticalPodAutoscalers are not judged themselves: a conflict is
	// reported once, on the HPA.
	LimitRanges []corev1.LimitRange
	Namespaces  []corev1.Namespace
	VPAs        []*policies.VPA
	// ScaledObjects are KEDA's, judged where KEDA builds the HPA from
	// (policies.EvaluateScaledObject); Snapshot also counts them as the
	// cluster, for duplicate-hpa on the HPAs.
	ScaledObjects []*policies.ScaledObject
}

// Finding is one thing a rule says about one stored object.
type Finding struct {
	// Object names the object: apiVersion, kind, namespace, name and uid.
	Object corev1.ObjectReference
	// Finding is the rule's finding. Action is deny or warn as configured
	// for the rule (mode: warn is not applied), or mutate for a mutate rule
	// the object breaks: the mutating webhook would change it on its next
	// write. One that is Unchecked says a rule could not be checked because
	// the cluster view could not answer: it is not a violation of the
	// object, and is reported as an error, not counted.
	policies.Finding
}

// NamespaceSummary counts the objects judged in one namespace that have no
// finding at all.
type NamespaceSummary struct {
	// Objects is the number of objects judged.
	Objects int
	// Passed have no finding and no exemption annotation.
	Passed int
	// Skipped have no finding and an honoured exemption annotation: some
	// rules were not applied to them on purpose.
	Skipped int
}

// Result is what one scan found.
type Result struct {
	// Findings are ordered by namespace, kind and name, then as the rules
	// report them (catalogue order, then path).
	Findings []Finding
	// Scanned is the number of objects judged; objects in exempt
	// namespaces (listed, or labelled to opt out) are not.
	Scanned int
	// Namespaces has an entry for every namespace with an object judged.
	Namespaces map[string]NamespaceSummary
}

// Violations returns the findings that are violations: every finding but
// the unchecked ones.
func (r Result) Violations() []Finding {
	out := make([]Finding, 0, len(r.Findings))
	for _, f := range r.Findings {
		if !f.Unchecked {
			out = append(out, f)
		}
	}
	return out
}

// ViolationKey is one series of scaleguard_audit_violations.
type ViolationKey struct {
	Rule, Namespace, Kind string
	Action                policies.Action
}

// ViolationCounts counts, for each rule, namespace, kind and action, the
// objects that break the rule: an object with two containers missing a
// request counts once.
func (r Result) ViolationCounts() map[ViolationKey]int {
	counts := map[ViolationKey]int{}
	type seenKey struct {
		name string
		key  ViolationKey
	}
	seen := map[seenKey]bool{}
	for _, f := range r.Findings {
		if f.Unchecked {
			continue
		}
		k := ViolationKey{Rule: f.Rule, Namespace: f.Object.Namespace, Kind: f.Object.Kind, Action: f.Action}
		sk := seenKey{name: f.Object.Name, key: k}
		if seen[sk] {
			continue
		}
		seen[sk] = true
		counts[k]++
	}
	return counts
}

// Scan judges every object with the rules in s. cluster is what the
// cross-object rules look up (the webhook's informer-backed view); when nil,
// Scan builds one from objs (see Snapshot).
func Scan(objs Objects, cluster policies.Cluster, s *policies.Settings) Result {
	if cluster == nil {
		cluster = Snapshot(objs)
	}
	// The audit reports each rule at its configured action: warn mode is a
	// roll-out setting for admission, and what it would refuse once enforced
	// is exactly what the audit is there to show.
	enforced := *s
	enforced.Mode = policies.Enforce
	sc := scanner{s: &enforced, cluster: newScanCluster(cluster), res: Result{Namespaces: map[string]NamespaceSummary{}}}

	for i := range objs.Workloads {
		sc.workload(&objs.Workloads[i])
	}
	// Namespace by namespace, so that scanCluster holds one namespace's
	// lookups at a time.
	order := make([]int, len(objs.HPAs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(objs.HPAs[a].Namespace, objs.HPAs[b].Namespace) })
	for _, i := range order {
		sc.hpa(&objs.HPAs[i])
	}
	for _, so := range objs.ScaledObjects {
		sc.scaledObject(so)
	}
	slices.SortStableFunc(sc.res.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.Name, b.Object.Name),
		)
	})
	return sc.res
}

type scanner struct {
	s       *policies.Settings
	cluster policies.Cluster
	res     Result
}

// workload judges one workload; one that could not be read is reported as
// unchecked, with the reason.
func (sc *scanner) workload(w *Workload) {
	if policies.NamespaceExempt(sc.s, sc.cluster, w.Namespace) {
		return
	}
	if w.Err != nil {
		f := policies.Finding{Rule: policies.RequestsRequired, Action: policies.Warn, Path: field.NewPath("spec"),
			Message: "not checked: " + w.Err.Error(), Unchecked: true}
		obj := ref(w.APIVersion, w.Workload.Kind, &w.Workload.Meta)
		obj.Namespace, obj.Name = w.Namespace, w.Name
		sc.add(obj, nil, policies.Findings{f})
		return
	}
	// No old object: allowExistingViolations softens an update that keeps
	// an old violation, and an old violation is what the audit reports.
	fs := policies.EvaluateWorkload(policies.WorkloadReview{Object: w.Workload, Cluster: sc.cluster}, sc.s)
	sc.add(ref(w.APIVersion, w.Workload.Kind, &w.Workload.Meta), w.Workload.Meta.Annotations, fs)
}

func (sc *scanner) hpa(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	if policies.NamespaceExempt(sc.s, sc.cluster, hpa.Namespace) {
		return
	}
	// A stored HPA is final: no webhook will change it before the HPA
	// controller reads it, so a mutate rule it breaks comes back as a
	// denial, and the rules after the mutations judge the object as stored.
	review := policies.HPAReview{Object: hpa, WrittenAs: writtenAs(hpa), Final: true, Cluster: sc.cluster}
	result := policies.EvaluateHPA(review, sc.s)
	fs := result.Findings
	// What the mutating webhook would have changed is reported as such,
	// apart from the mutate rules' own denials (min-replicas denies when
	// maxReplicas is below the minimum).
	for _, u := range result.Unapplied {
		for i, f := range fs {
			if f == u {
				fs[i].Action = policies.Mutate
			}
		}
	}
	sc.add(ref("autoscaling/v2", policies.KindHPA, &hpa.ObjectMeta), hpa.Annotations, fs)
}

func (sc *scanner) scaledObject(so *policies.ScaledObject) {
	if policies.NamespaceExempt(sc.s, sc.cluster, so.Namespace) {
		return
	}
	fs := policies.EvaluateScaledObject(policies.ScaledObjectReview{Object: so, Cluster: sc.cluster}, sc.s)
	sc.add(ref(policies.ScaledObjectGroup+"/"+policies.ScaledObjectVersion, policies.KindScaledObject, &so.ObjectMeta), so.Annotations, fs)
}

func (sc *scanner) add(obj corev1.ObjectReference, annotations map[string]string, fs policies.Findings) {
	sc.res.Scanned++
	ns := sc.res.Namespaces[obj.Namespace]
	ns.Objects++
	switch {
	case len(fs) > 0:
		for _, f := range fs {
			sc.res.Findings = append(sc.res.Findings, Finding{Object: obj, Finding: f})
		}
	case annotations[policies.AnnotationExempt] != "":
		// Had the exemption not been honoured, exemption-reason would have
		// said so.
		ns.Skipped++
	default:
		ns.Passed++
	}
	sc.res.Namespaces[obj.Namespace] = ns
}

func ref(apiVersion, kind string, m *metav1.ObjectMeta) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: m.Namespace, Name: m.Name, UID: m.UID}
}
