package policies

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// requestsRequired checks that every container the HPA controller counts
// (app containers and restartable init containers, the sidecars) requests
// each required resource. The controller sums requests over exactly these
// containers, and one missing request fails the whole metric ("missing
// request for cpu in container …"), so the HPA never scales: k8s.io/kubernetes
// v1.37.2 pkg/controller/podautoscaler/replica_calculator.go calculateRequests
// and calculatePodRequestsFromContainers. Refusing a request of 0 is
// scaleguard's own standard (upstream fails only on a total of 0:
// metrics/utilization.go GetResourceUtilizationRatio).
//
// It also returns the requests it reports as missing or zero, by container
// path and resource (requestKey).
func requestsRequired(spec *corev1.PodSpec, specPath *field.Path, resources []corev1.ResourceName, limitRanges []corev1.LimitRange) (Findings, map[requestKey]bool) {
	var out Findings
	gaps := map[requestKey]bool{}
	podRequests, podLimits := podLevelResources(spec)
	defaults := limitRangeDefaults(limitRanges)
	check := func(c *corev1.Container, path *field.Path, kind string) {
		var missing, zero, fromLimit []string
		for _, r := range resources {
			if q, ok := c.Resources.Requests[r]; ok {
				if q.IsZero() {
					zero = append(zero, string(r))
				}
				continue
			}
			if _, ok := podRequests[r]; ok {
				continue
			}
			if _, ok := c.Resources.Limits[r]; ok {
				fromLimit = append(fromLimit, string(r))
				continue
			}
			if _, ok := podLimits[r]; ok {
				fromLimit = append(fromLimit, string(r))
				continue
			}
			if defaults[r] {
				continue
			}
			missing = append(missing, string(r))
		}
		reqPath := path.Child("resources", "requests")
		for _, r := range append(missing, zero...) {
			gaps[requestKey{reqPath.String(), corev1.ResourceName(r)}] = true
		}
		if len(missing) > 0 {
			out = append(out, Finding{Rule: RequestsRequired, Action: Deny, Path: reqPath,
				Message: fmt.Sprintf("%s %q requests no %s; set resources.requests.%s (the HPA cannot compute utilization without it)",
					kind, c.Name, strings.Join(missing, " or "), strings.Join(missing, " and ."))})
		}
		if len(zero) > 0 {
			out = append(out, Finding{Rule: RequestsRequired, Action: Deny, Path: reqPath,
				Message: fmt.Sprintf("%s %q requests 0 %s; request a positive amount (utilization of a zero request is undefined)",
					kind, c.Name, strings.Join(zero, " and "))})
		}
		if len(fromLimit) > 0 {
			out = append(out, Finding{Rule: RequestsRequired, Action: Warn, Path: reqPath,
				Message: fmt.Sprintf("%s %q has a %s limit but no request; Kubernetes copies the limit into the Pod's request, so write resources.requests.%s explicitly",
					kind, c.Name, strings.Join(fromLimit, " and "), strings.Join(fromLimit, " and ."))})
		}
	}
	for i := range spec.Containers {
		check(&spec.Containers[i], specPath.Child("containers").Index(i), "container")
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isSidecar(c) {
			check(c, specPath.Child("initContainers").Index(i), "sidecar")
		}
	}
	return out, gaps
}

// requestKey names one request of one container: the container's
// resources.requests path (as field.Path writes it) and the resource.
type requestKey struct {
	requestsPath string
	resource     corev1.ResourceName
}

// isSidecar reports whether an init container keeps running beside the app
// (restartPolicy: Always); only those are counted by the HPA controller.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// podLevelResources returns pod-level requests and limits; when set, pod-level
// requests replace container requests in the HPA controller's sum.
func podLevelResources(spec *corev1.PodSpec) (corev1.ResourceList, corev1.ResourceList) {
	if spec.Resources == nil {
		return nil, nil
	}
	return spec.Resources.Requests, spec.Resources.Limits
}

// limitRangeDefaults lists the resources that a namespace's LimitRanges fill
// into a container's requests at Pod creation. Mirrors k8s.io/kubernetes
// v1.37.2 plugin/pkg/admission/limitranger/admission.go
// defaultContainerResourceRequirements and mergeContainerResources: only
// items of type Container count, and requests come from defaultRequest
// alone (default becomes a limit, and the Pod's requests were defaulted from
// its limits before LimitRanger ran). The LimitRanges must be as the API
// server stores them, with default and defaultRequest already filled from
// max and min (Cluster.LimitRanges; ApplyLimitRangeDefaults).
func limitRangeDefaults(lrs []corev1.LimitRange) map[corev1.ResourceName]bool {
	out := map[corev1.ResourceName]bool{}
	for _, lr := range lrs {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for r := range item.DefaultRequest {
				out[r] = true
			}
		}
	}
	return out
}
