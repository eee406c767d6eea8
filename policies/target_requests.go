package policies

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// requestGap is one request an HPA's Utilization metric divides by and its
// target does not have: the HPA controller then fails the whole metric.
type requestGap struct {
	hpa    string
	metric int // index in the HPA's spec.metrics
	// container is the container without the request, or the one a
	// ContainerResource metric names when the pod has no such container
	// (absent).
	container string
	absent    bool
	// requestsPath is the container's resources.requests in the workload.
	requestsPath *field.Path
	resource     corev1.ResourceName
	// podLevel: the pod has pod-level requests, which do not count for a
	// metric that names a container.
	podLevel bool
}

// requestGaps lists what the target lacks for the HPA's Utilization
// metrics: a request in every counted container for a Resource metric, in
// the named container for a ContainerResource metric. AverageValue targets
// need no request.
func requestGaps(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, c Cluster) []requestGap {
	var out []requestGap
	spec := &w.Template.Spec
	counted := countedContainers(spec)
	podRequests, _ := podLevelResources(spec)
	var defaults map[corev1.ResourceName]bool
	if lrs, err := c.LimitRanges(w.Meta.Namespace); err == nil {
		defaults = limitRangeDefaults(lrs)
	}
	// has mirrors the HPA controller's calculateRequests
	// (pkg/controller/podautoscaler/replica_calculator.go): pod-level
	// requests replace the containers' sum, but never for a metric that
	// names a container, which reads that container's own request. A
	// container's limit (copied into its request at Pod creation) or a
	// LimitRange default fills that request.
	has := func(ctr *corev1.Container, r corev1.ResourceName, podLevel bool) bool {
		if q, ok := ctr.Resources.Requests[r]; ok && !q.IsZero() {
			return true
		}
		_, limit := ctr.Resources.Limits[r]
		_, pod := podRequests[r]
		return limit || (podLevel && pod) || defaults[r]
	}
	gap := func(i int, ctr *corev1.Container, r corev1.ResourceName) requestGap {
		return requestGap{hpa: hpa.Name, metric: i, container: ctr.Name, resource: r,
			requestsPath: containerRequestsPath(spec, ctr)}
	}
	for i, m := range hpa.Spec.Metrics {
		switch {
		case m.Resource != nil && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType:
			// A request of 0 is a request to calculatePodRequestsFromContainers;
			// the metric fails on it only when the pod's requests total 0
			// (metrics/utilization.go GetResourceUtilizationRatio: "no
			// metrics returned matched known pods").
			r := m.Resource.Name
			_, podLevel := podRequests[r]
			var zeros []*corev1.Container
			positive := false
			for _, ctr := range counted {
				if q, ok := ctr.Resources.Requests[r]; ok && q.IsZero() && !podLevel {
					zeros = append(zeros, ctr)
					continue
				}
				if has(ctr, r, true) {
					positive = true
				} else {
					out = append(out, gap(i, ctr, r))
				}
			}
			if !positive {
				for _, ctr := range zeros {
					out = append(out, gap(i, ctr, r))
				}
			}
		case m.ContainerResource != nil && m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType:
			cr := m.ContainerResource
			var found *corev1.Container
			for _, ctr := range counted {
				if ctr.Name == cr.Container {
					found = ctr
					break
				}
			}
			switch {
			case found == nil:
				out = append(out, requestGap{hpa: hpa.Name, metric: i, container: cr.Container, absent: true, resource: cr.Name})
			case !has(found, cr.Name, false):
				g := gap(i, found, cr.Name)
				_, g.podLevel = podRequests[cr.Name]
				out = append(out, g)
			}
		}
	}
	return out
}

// containerRequestsPath is the resources.requests path of a container of
// spec.
func containerRequestsPath(spec *corev1.PodSpec, ctr *corev1.Container) *field.Path {
	for i := range spec.Containers {
		if &spec.Containers[i] == ctr {
			return templateSpecPath.Child("containers").Index(i).Child("resources", "requests")
		}
	}
	for i := range spec.InitContainers {
		if &spec.InitContainers[i] == ctr {
			return templateSpecPath.Child("initContainers").Index(i).Child("resources", "requests")
		}
	}
	return templateSpecPath
}

const podLevelWhy = " (pod-level requests do not count: for a named container the HPA controller reads that container's own request)"

// targetRequestsOfHPA reports the gaps on the HPA: one finding per metric,
// naming every container the metric lacks a request in.
func targetRequestsOfHPA(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, gaps []requestGap) Findings {
	return targetRequestsOfMetrics(fmt.Sprintf("HPA %q", hpa.Name), hpa.Spec.Metrics, w, gaps, func(i int) (metric, container *field.Path) {
		metric = pathMetrics.Index(i)
		return metric, metric.Child("containerResource", "container")
	})
}

// targetRequestsOfMetrics reports the gaps of metrics on the object who
// names (`HPA "web"`): one finding per metric, at the path paths gives for
// the metric's index, or at the field naming its container when the target
// has no such container.
func targetRequestsOfMetrics(who string, metrics []autoscalingv2.MetricSpec, w *Workload, gaps []requestGap, paths func(int) (metric, container *field.Path)) Findings {
	var out Findings
	for i, m := range metrics {
		var containers []string
		var g requestGap
		for _, each := range gaps {
			if each.metric == i {
				g = each
				containers = append(containers, fmt.Sprintf("%q", each.container))
			}
		}
		path, containerPath := paths(i)
		switch {
		case len(containers) == 0:
		case g.absent:
			out = append(out, Finding{Rule: TargetRequests, Action: Deny, Path: containerPath,
				Message: fmt.Sprintf("%s measures container %s, which %s %q does not have; name one of its containers",
					who, containers[0], w.Kind, w.Meta.Name)})
		case m.ContainerResource != nil:
			why := ""
			if g.podLevel {
				why = podLevelWhy
			}
			out = append(out, Finding{Rule: TargetRequests, Action: Deny, Path: path,
				Message: fmt.Sprintf("%s measures %s utilization of container %s, which requests no %s%s; add resources.requests.%s",
					who, g.resource, containers[0], g.resource, why, g.resource)})
		default:
			out = append(out, Finding{Rule: TargetRequests, Action: Deny, Path: path,
				Message: fmt.Sprintf("%s measures %s utilization, but %s of %s %q %s no %s, so the metric fails and the HPA never scales; add resources.requests.%s",
					who, g.resource, plural("container", "containers", containers), w.Kind, w.Meta.Name,
					agree(len(containers), "requests", "request"), g.resource, g.resource)})
		}
	}
	return out
}

// reportedRequests is what requests-required reported on a workload: the
// requests it found missing or zero (requestKey), under its action.
type reportedRequests struct {
	gaps   map[requestKey]bool
	action Action
}

// unless returns the requests target-requests, under action, need not
// report again: those requests-required reported at least as strictly.
func (r reportedRequests) unless(action Action) map[requestKey]bool {
	if r.action == Deny || (r.action == Warn && action == Warn) {
		return r.gaps
	}
	return nil
}

// targetRequestsOfWorkload reports the gaps of every HPA scaling w on w
// itself: one finding per container, at its resources.requests, unless
// requests-required already says the same (reported), and one for the
// containers HPAs name that w does not have.
func targetRequestsOfWorkload(w *Workload, gaps []requestGap, reported map[requestKey]bool) Findings {
	type byContainer struct {
		path            *field.Path
		container       string
		hpas, resources []string
		podLevel        bool
	}
	var order []string
	groups := map[string]*byContainer{}
	var absentHPAs, absent []string
	for _, g := range gaps {
		if g.absent {
			absentHPAs = appendNew(absentHPAs, fmt.Sprintf("%q", g.hpa))
			absent = appendNew(absent, fmt.Sprintf("%q", g.container))
			continue
		}
		if reported[requestKey{g.requestsPath.String(), g.resource}] {
			continue
		}
		b, ok := groups[g.requestsPath.String()]
		if !ok {
			b = &byContainer{path: g.requestsPath, container: g.container}
			groups[g.requestsPath.String()] = b
			order = append(order, g.requestsPath.String())
		}
		b.hpas = appendNew(b.hpas, fmt.Sprintf("%q", g.hpa))
		b.resources = appendNew(b.resources, string(g.resource))
		b.podLevel = b.podLevel || g.podLevel
	}
	var out Findings
	for _, path := range order {
		b := groups[path]
		why := ""
		if b.podLevel {
			why = podLevelWhy
		}
		out = append(out, Finding{Rule: TargetRequests, Action: Deny, Path: b.path,
			Message: fmt.Sprintf("%s %s %s utilization, but container %q of %s %q requests no %s%s, so the metric fails and the HPA never scales; add resources.requests.%s",
				plural("HPA", "HPAs", b.hpas), agree(len(b.hpas), "measures", "measure"), strings.Join(b.resources, " and "),
				b.container, w.Kind, w.Meta.Name, strings.Join(b.resources, " or "), why, strings.Join(b.resources, " and ."))})
	}
	if len(absent) > 0 {
		out = append(out, Finding{Rule: TargetRequests, Action: Deny, Path: templateSpecPath,
			Message: fmt.Sprintf("%s %s %s, which %s %q does not have; name one of its containers",
				plural("HPA", "HPAs", absentHPAs), agree(len(absentHPAs), "measures", "measure"),
				plural("container", "containers", absent), w.Kind, w.Meta.Name)})
	}
	return out
}

// plural writes `container "a"` or `containers "a" and "b"`.
func plural(one, many string, quoted []string) string {
	if len(quoted) == 1 {
		return one + " " + quoted[0]
	}
	return many + " " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

func agree(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
