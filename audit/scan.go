package audit

import (
	"cmp"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// Objects are the stored objects one scan judges. The slices are the Items
// of the lists read from the cluster; Scan never modifies them, so they may
// be the cache's own objects.
type Objects struct {
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	HPAs         []autoscalingv2.HorizontalPodAutoscaler
	// CustomWorkloads are the stored objects of the kinds
	// settings.workloadKinds lists (see CustomWorkload).
	CustomWorkloads []CustomWorkload
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

	for i := range objs.Deployments {
		d := &objs.Deployments[i]
		w, _ := policies.WorkloadOf(d)
		sc.workload(w, "apps/v1")
	}
	for i := range objs.StatefulSets {
		st := &objs.StatefulSets[i]
		w, _ := policies.WorkloadOf(st)
		sc.workload(w, "apps/v1")
	}
	for i := range objs.CustomWorkloads {
		sc.customWorkload(&objs.CustomWorkloads[i])
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

func (sc *scanner) workload(w policies.Workload, apiVersion string) {
	if policies.NamespaceExempt(sc.s, sc.cluster, w.Meta.Namespace) {
		return
	}
	// No old object: allowExistingViolations softens an update that keeps
	// an old violation, and an old violation is what the audit reports.
	fs := policies.EvaluateWorkload(policies.WorkloadReview{Object: w, Cluster: sc.cluster}, sc.s)
	sc.add(ref(apiVersion, w.Kind, &w.Meta), w.Meta.Annotations, fs)
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
