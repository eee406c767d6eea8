package policies

import (
	"fmt"
	"slices"

	"gopkg.in/inf.v0"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	resourcehelper "k8s.io/component-helpers/resource"
)

// quotaCeiling warns when a ResourceQuota of the namespace cannot hold
// maxReplicas pods of the target even with nothing else running: the
// ReplicaSet's pod creations are refused past that count (FailedCreate) and
// the HPA never reaches its maximum. One finding, for the quota that allows
// the fewest pods.
//
// A pod is charged as the quota admission plugin charges it
// (k8s.io/kubernetes pkg/quota/v1/evaluator/core/pods.go, PodUsageFunc and
// podComputeUsageHelper): k8s.io/component-helpers' PodRequests over the
// pod the template becomes, after the API server's defaulting (a limit
// without a request becomes the request, SetDefaults_Pod) and the
// LimitRanger's default requests.
func quotaCeiling(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, c Cluster) Findings {
	quotas, err := c.ResourceQuotas(w.Meta.Namespace)
	if err != nil {
		return Findings{notChecked(QuotaCeiling, "the namespace's ResourceQuotas", err)}
	}
	if len(quotas) == 0 {
		return nil
	}
	lrs, _ := c.LimitRanges(w.Meta.Namespace)
	pod := quotaPod(w.Template, lrs)
	usage := podQuotaUsage(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))

	type bound struct {
		quota   string
		name    corev1.ResourceName
		hard    resource.Quantity
		perPod  resource.Quantity
		allowed int64
	}
	var tightest *bound
	for _, q := range quotas {
		if !quotaApplies(&q, pod) {
			continue
		}
		for _, name := range slices.Sorted(func(yield func(corev1.ResourceName) bool) {
			for n := range q.Spec.Hard {
				if !yield(n) {
					return
				}
			}
		}) {
			per, charged := usage[name]
			if !charged || per.Sign() <= 0 {
				continue
			}
			hard := q.Spec.Hard[name]
			allowed := podsWithin(hard, per)
			if tightest == nil || allowed < tightest.allowed {
				tightest = &bound{quota: q.Name, name: name, hard: hard, perPod: per, allowed: allowed}
			}
		}
	}
	if tightest == nil || tightest.allowed >= int64(hpa.Spec.MaxReplicas) {
		return nil
	}
	b := tightest
	return Findings{{Rule: QuotaCeiling, Action: Deny, Path: pathMaxReplicas,
		Message: fmt.Sprintf("ResourceQuota %q caps %s at %s in namespace %s and each pod of %s %q is charged %s, so at most %d pods fit (fewer while other pods use the quota), not maxReplicas %d: past that the ReplicaSet's pods are refused; lower spec.maxReplicas to %d or raise the quota",
			b.quota, b.name, b.hard.String(), w.Meta.Namespace, w.Kind, w.Meta.Name, b.perPod.String(), b.allowed, hpa.Spec.MaxReplicas, b.allowed)}}
}

// podsWithin is how many pods charged per each fit in hard.
func podsWithin(hard, per resource.Quantity) int64 {
	n := new(inf.Dec).QuoRound(hard.AsDec(), per.AsDec(), 0, inf.RoundDown)
	if !n.UnscaledBig().IsInt64() {
		return 1<<63 - 1
	}
	return n.UnscaledBig().Int64()
}

// quotaPod is the pod a template becomes when it is created: each
// container's missing request set from its limit (pkg/apis/core/v1
// defaults.go, SetDefaults_Pod), then from a LimitRange's defaultRequest
// (plugin/pkg/admission/limitranger, defaultContainerResourceRequirements
// and mergeContainerResources: only what is still missing).
func quotaPod(t *corev1.PodTemplateSpec, lrs []corev1.LimitRange) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: *t.Spec.DeepCopy()}
	defaults := corev1.ResourceList{}
	for _, lr := range lrs {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for r, q := range item.DefaultRequest {
				defaults[r] = q
			}
		}
	}
	fill := func(cs []corev1.Container) {
		for i := range cs {
			res := &cs[i].Resources
			for r, q := range res.Limits {
				if _, ok := res.Requests[r]; !ok {
					if res.Requests == nil {
						res.Requests = corev1.ResourceList{}
					}
					res.Requests[r] = q
				}
			}
			for r, q := range defaults {
				if _, ok := res.Requests[r]; !ok {
					if res.Requests == nil {
						res.Requests = corev1.ResourceList{}
					}
					res.Requests[r] = q
				}
			}
		}
	}
	fill(pod.Spec.Containers)
	fill(pod.Spec.InitContainers)
	return pod
}

// podQuotaUsage is what one running pod is charged in the names a quota
// may list, for the compute resources rules can reason about
// (podComputeUsageHelper; limits are not charged here since only the
// requests are computed).
func podQuotaUsage(requests corev1.ResourceList) corev1.ResourceList {
	one := resource.MustParse("1")
	out := corev1.ResourceList{corev1.ResourcePods: one, "count/pods": one}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := requests[r]; ok {
			out[r] = q
			out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(r))] = q
		}
	}
	return out
}

// quotaApplies reports whether quota q charges pod, by its scopes
// (pkg/quota/v1/evaluator/core/pods.go, podMatchesScopeFunc). A scope this
// cannot judge from a template (CrossNamespacePodAffinity is judged; any
// other is not) makes it answer false: the rule then says nothing rather
// than warn about a quota that may not apply.
func quotaApplies(q *corev1.ResourceQuota, pod *corev1.Pod) bool {
	reqs := make([]corev1.ScopedResourceSelectorRequirement, 0, len(q.Spec.Scopes))
	for _, s := range q.Spec.Scopes {
		reqs = append(reqs, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		reqs = append(reqs, q.Spec.ScopeSelector.MatchExpressions...)
	}
	for _, r := range reqs {
		if !scopeMatches(r, pod) {
			return false
		}
	}
	return true
}

func scopeMatches(r corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	switch r.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return terminating(pod)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !terminating(pod)
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		if r.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != ""
		}
		var op selection.Operator
		switch r.Operator {
		case corev1.ScopeSelectorOpIn:
			op = selection.In
		case corev1.ScopeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.ScopeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		default:
			return false
		}
		req, err := labels.NewRequirement(string(corev1.ResourceQuotaScopePriorityClass), op, r.Values)
		if err != nil {
			return false
		}
		set := labels.Set{}
		if pod.Spec.PriorityClassName != "" {
			set[string(corev1.ResourceQuotaScopePriorityClass)] = pod.Spec.PriorityClassName
		}
		return labels.NewSelector().Add(*req).Matches(set)
	}
	return false
}

// terminating mirrors IsTerminating: a pod with an active deadline.
func terminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// bestEffort mirrors the QoS class BestEffort (pkg/apis/core/v1/helper/qos,
// ComputePodQOS): no non-zero CPU or memory request or limit, judged on the
// pod-level resources when they set either, else on every container.
func bestEffort(pod *corev1.Pod) bool {
	none := func(r *corev1.ResourceRequirements) bool {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := r.Requests[name], r.Limits[name]
			if !req.IsZero() || !lim.IsZero() {
				return false
			}
		}
		return true
	}
	if pod.Spec.Resources != nil && resourcehelper.IsPodLevelResourcesSet(pod) {
		return none(pod.Spec.Resources)
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if !none(&cs[i].Resources) {
				return false
			}
		}
	}
	return true
}
