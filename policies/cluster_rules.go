package policies

import (
	"errors"
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// notChecked is the warning given when a rule needs the cluster and the
// cluster cannot answer: the object is judged without it, and says so. It
// is about no field, and points at the object's metadata.
func notChecked(rule, what string, err error) Finding {
	msg := fmt.Sprintf("not checked: %s could not be looked up (%v)", what, err)
	if errors.Is(err, ErrUnknown) {
		msg = fmt.Sprintf("not checked: scaleguard's view of %s is not ready yet", what)
	}
	return Finding{Rule: rule, Action: Warn, Path: pathMetadata, Message: msg, Unchecked: true}
}

// softened turns denials into warnings that say why.
func softened(fs Findings, why string) Findings {
	for i := range fs {
		if fs[i].Action == Deny {
			fs[i].Action = Warn
			fs[i].Message += " (warning only: " + why + ")"
		}
	}
	return fs
}

// externalOwner names the controller that owns the HPA when it is one of the
// externally managed kinds, e.g. "keda.sh ScaledObject orders".
func externalOwner(hpa *autoscalingv2.HorizontalPodAutoscaler, managed []OwnerKind) string {
	for _, ref := range hpa.OwnerReferences {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			continue
		}
		for _, m := range managed {
			if m.APIGroup == gv.Group && m.Kind == ref.Kind {
				return fmt.Sprintf("%s %s %q", gv.Group, ref.Kind, ref.Name)
			}
		}
	}
	return ""
}

// hpaClusterRules are the HPA rules that look beyond the object. The kind
// check needs no cluster for built-in kinds; the rest are skipped offline.
func hpaClusterRules(hpa *autoscalingv2.HorizontalPodAutoscaler, c Cluster, s *Settings, on func(string) bool) Findings {
	var out Findings
	ref := hpa.Spec.ScaleTargetRef
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	ns := hpa.Namespace

	// The HPA controller reads the target through its /scale subresource
	// (k8s.io/kubernetes v1.37.2 pkg/controller/podautoscaler/horizontal.go
	// scaleForResourceMappings): built-in kinds serve one when their storage
	// has a ScaleREST, custom resources when their CRD declares it.
	if on(ScaleTargetKind) {
		scalable, known := KnownScalable(gv.Group, ref.Kind)
		if !known && c != nil {
			var err error
			scalable, err = c.Scalable(ref.APIVersion, ref.Kind)
			if err != nil {
				out = append(out, notChecked(ScaleTargetKind, "the API's scale subresources", err))
			}
			known = err == nil
		}
		if known && !scalable {
			out = append(out, Finding{Rule: ScaleTargetKind, Action: Deny, Path: pathScaleTargetRef.Child("kind"),
				Message: fmt.Sprintf("%s %s has no /scale subresource, so no HPA can scale it; target a Deployment, StatefulSet, ReplicaSet or a custom resource with a scale subresource",
					ref.APIVersion, ref.Kind)})
			return out
		}
	}
	if c == nil {
		return out
	}
	// A listed custom kind (settings.workloadKinds) is a target like a
	// Deployment: the cluster holds its pod template.
	isWorkload := s.IsWorkloadKind(gv.Group, ref.Kind)
	var target *Workload
	if isWorkload && (on(TargetExists) || on(TargetRequests) || on(UtilizationReachable) || on(CostCeiling) || on(QuotaCeiling) || on(DrainAtMinimum) || on(SelectorOverlap) || on(HPAVPAConflict)) {
		var err error
		target, err = c.Workload(ns, ref.Kind, ref.Name)
		// A missing target is the controller's FailedGetScale
		// (reconcileAutoscaler → scaleForResourceMappings).
		switch {
		case err != nil:
			out = append(out, notChecked(TargetExists, "the scale target", err))
		case target == nil && on(TargetExists):
			out = append(out, Finding{Rule: TargetExists, Action: Warn, Path: pathScaleTargetRef.Child("name"),
				Message: c.TargetNotFound(ref.Kind, ns, ref.Name)})
		}
	}
	// Two HPAs on one target select the same pods: the HPA controller's
	// validateAndParseSelector (k8s.io/kubernetes
	// pkg/controller/podautoscaler/horizontal.go) finds them "controlled by
	// more than one HPA" (selectorTracker.HPAsMatchingPods) and stops both.
	if on(DuplicateHPA) {
		others, err := c.HPAsFor(ns, ref.Kind, ref.Name)
		if err != nil {
			out = append(out, notChecked(DuplicateHPA, "the other HPAs", err))
		}
		for _, o := range others {
			if o.Name != hpa.Name {
				out = append(out, Finding{Rule: DuplicateHPA, Action: Deny, Path: pathScaleTargetRef,
					Message: fmt.Sprintf("HPA %q already scales %s %q; the HPA controller finds their pods controlled by more than one HPA and stops both (ScalingActive False, AmbiguousSelector) — put all metrics in one HPA",
						o.Name, ref.Kind, ref.Name)})
				break
			}
		}
		out = append(out, scaledObjectsOfHPA(hpa, c)...)
	}
	if target != nil {
		if on(TargetRequests) {
			out = append(out, targetRequestsOfHPA(hpa, target, requestGaps(hpa, target, c))...)
		}
		if on(UtilizationReachable) {
			out = append(out, utilizationReachable(hpa, target, pathMetrics.Index)...)
		}
		if on(CostCeiling) {
			out = append(out, costCeiling(hpa, target, c, s.Rules.CostCeiling)...)
		}
		if on(QuotaCeiling) {
			out = append(out, quotaCeiling(hpa, target, c)...)
		}
		if on(DrainAtMinimum) {
			out = append(out, drainAtMinimum(hpa, target, c)...)
		}
		if on(SelectorOverlap) {
			out = append(out, selectorOverlap(hpa, target, c)...)
		}
	}
	if on(HPAVPAConflict) {
		out = append(out, hpaVPAConflict(hpa, target, c)...)
	}
	if on(MetricsAvailable) {
		out = append(out, metricsAvailable(hpa, c)...)
	}
	return out
}

// workloadClusterRules judge a Deployment or StatefulSet against the HPAs
// that scale it: the same requests and utilization checks from the other
// side (a workload update must not break its HPA), and replica conflicts.
func workloadClusterRules(r WorkloadReview, s *Settings, on func(string) bool, reported reportedRequests) (Findings, *int32) {
	w := r.Object
	if !on(TargetRequests) && !on(UtilizationReachable) && !on(HPAReplicasConflict) {
		return nil, nil
	}
	hpas, err := r.Cluster.HPAsFor(w.Meta.Namespace, w.Kind, w.Meta.Name)
	if err != nil {
		return Findings{notChecked(TargetRequests, "the HPAs scaling this workload", err)}, nil
	}
	var out Findings
	if on(TargetRequests) {
		var gaps []requestGap
		for _, hpa := range hpas {
			gaps = append(gaps, requestGaps(hpa, &w, r.Cluster)...)
		}
		out = append(out, targetRequestsOfWorkload(&w, gaps, reported.unless(s.Action(TargetRequests)))...)
	}
	// Findings about an HPA's needs, seen from the workload, point at the
	// workload's own fields.
	for _, hpa := range hpas {
		if on(UtilizationReachable) {
			out = append(out, utilizationReachable(hpa, &w, func(int) *field.Path { return templateSpecPath })...)
		}
	}
	// The HPA controller scales from the count the workload's /scale reports
	// (k8s.io/kubernetes v1.37.2 horizontal.go reconcileAutoscaler:
	// scale.Spec.Replicas, which the deployment storage's ScaleREST reads
	// from spec.replicas), so a write of spec.replicas moves its starting
	// point. Only an update can.
	var keep *int32
	if on(HPAReplicasConflict) && r.Old != nil && len(hpas) > 0 && r.Object.Replicas != nil &&
		ptr.Deref(r.Old.Replicas, 1) != *r.Object.Replicas {
		oldN := ptr.Deref(r.Old.Replicas, 1)
		f := Finding{Rule: HPAReplicasConflict, Action: Warn, Path: pathReplicas,
			Message: fmt.Sprintf("spec.replicas changed from %d to %d while HPA %q manages it; every apply or GitOps sync resets the HPA's count — drop spec.replicas from the manifest",
				oldN, *r.Object.Replicas, hpas[0].Name)}
		switch s.Action(HPAReplicasConflict) {
		case Mutate:
			if r.Final {
				f.Message += " (scaleguard's mutation was not applied)"
				break
			}
			keep = ptr.To(oldN)
			f.Action = Mutate
			f.Message = fmt.Sprintf("kept spec.replicas at %d, the count HPA %q manages (the update asked for %d)", oldN, hpas[0].Name, *r.Object.Replicas)
		case Deny:
			f.Action = Deny
		}
		out = append(out, f)
	}
	return out, keep
}

// countedContainers are the containers the HPA controller sums requests
// over: app containers and restartable init containers.
func countedContainers(spec *corev1.PodSpec) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(spec.Containers)+len(spec.InitContainers))
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	for i := range spec.InitContainers {
		if isSidecar(&spec.InitContainers[i]) {
			out = append(out, &spec.InitContainers[i])
		}
	}
	return out
}

// utilizationReachable: when every measured container's limit equals its
// request, usage cannot pass 100 % of the request (CPU is throttled at the
// limit, memory is OOM-killed), and the controller scales up only when
// usage/target exceeds 1 + tolerance. A target with target × (1 + tolerance)
// ≥ 100 % can then never scale up: k8s.io/kubernetes v1.37.2
// pkg/controller/podautoscaler/replica_calculator.go GetResourceReplicas and
// Tolerances.isWithin, with the tolerance of horizontal.go tolerancesForHpa
// (behavior.scaleUp.tolerance, else the controller's 0.1). A finding is
// reported at the path at gives for the metric's index.
func utilizationReachable(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, at func(metric int) *field.Path) Findings {
	var out Findings
	tol := scaling.TolerancesFor(&hpa.Spec, scaling.Options{}).ScaleUp
	spec := &w.Template.Spec
	counted := countedContainers(spec)
	capped := func(ctrs []*corev1.Container, r corev1.ResourceName) bool {
		if len(ctrs) == 0 || (spec.Resources != nil && len(spec.Resources.Requests) > 0) {
			return false
		}
		for _, c := range ctrs {
			req, okR := c.Resources.Requests[r]
			lim, okL := c.Resources.Limits[r]
			if !okL || (okR && req.Cmp(lim) != 0) {
				return false
			}
		}
		return true
	}
	for i, m := range hpa.Spec.Metrics {
		var r corev1.ResourceName
		var target *int32
		ctrs := counted
		switch {
		case m.Resource != nil && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType:
			r, target = m.Resource.Name, m.Resource.Target.AverageUtilization
		case m.ContainerResource != nil && m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType:
			r, target = m.ContainerResource.Name, m.ContainerResource.Target.AverageUtilization
			var named []*corev1.Container
			for _, c := range ctrs {
				if c.Name == m.ContainerResource.Container {
					named = append(named, c)
				}
			}
			ctrs = named
		default:
			continue
		}
		if target == nil || !capped(ctrs, r) {
			continue
		}
		needed := float64(*target) * (1 + tol)
		if needed >= 100 {
			out = append(out, Finding{Rule: UtilizationReachable, Action: Deny, Path: at(i),
				Message: fmt.Sprintf("a %s target of %d%% scales up only above %.1f%% of requests (tolerance %g), but %s %q limits %s to its request, so usage stays at or below 100%%: set averageUtilization below %d or raise the limits",
					r, *target, needed, tol, w.Kind, w.Meta.Name, r, int(math.Ceil(100/(1+tol)))-1)})
		}
	}
	return out
}

// metricsAvailable warns when the aggregated API a metric needs is not
// served: the HPA then reports <unknown> and never scales. The APIs are
// those k8s.io/kubernetes v1.37.2 pkg/controller/podautoscaler/metrics/
// client.go reads: resourceMetricsClient metrics.k8s.io,
// customMetricsClient custom.metrics.k8s.io, externalMetricsClient
// external.metrics.k8s.io.
func metricsAvailable(hpa *autoscalingv2.HorizontalPodAutoscaler, c Cluster) Findings {
	needs := map[string]string{}
	for _, m := range hpa.Spec.Metrics {
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			needs["metrics.k8s.io"] = "Resource metrics need metrics-server"
		case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
			needs["custom.metrics.k8s.io"] = "Pods and Object metrics need a custom metrics adapter"
		case autoscalingv2.ExternalMetricSourceType:
			needs["external.metrics.k8s.io"] = "External metrics need an external metrics adapter"
		}
	}
	var out Findings
	for _, group := range []string{"metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"} {
		why, ok := needs[group]
		if !ok {
			continue
		}
		available, err := c.MetricsAPIAvailable(group)
		if err != nil {
			out = append(out, notChecked(MetricsAvailable, "the metrics APIs", err))
			continue
		}
		if !available {
			out = append(out, Finding{Rule: MetricsAvailable, Action: Warn, Path: pathMetrics,
				Message: fmt.Sprintf("%s (%s), which this cluster does not serve; the HPA will report <unknown> and never scale", why, group)})
		}
	}
	return out
}

// costCeiling states the most the HPA can cost a month at maxReplicas:
// scaleguard's own standard. One replica is charged what the scheduler
// charges the pod the template becomes: k8s.io/component-helpers'
// resource.PodRequests (app containers and sidecars summed, a plain init
// container by its maximum, pod-level requests when set) over the pod after
// the API server's and the LimitRanger's defaults (quotaPod), as
// quota-ceiling charges it.
func costCeiling(hpa *autoscalingv2.HorizontalPodAutoscaler, w *Workload, c Cluster, s CostCeilingSettings) Findings {
	lrs, _ := c.LimitRanges(w.Meta.Namespace)
	requests := resourcehelper.PodRequests(quotaPod(w.Template, lrs), resourcehelper.PodResourcesOptions{})
	cpu, mem := requests[corev1.ResourceCPU], requests[corev1.ResourceMemory]
	gib := float64(mem.Value()) / (1 << 30)
	cores := float64(cpu.MilliValue()) / 1000
	monthly := float64(hpa.Spec.MaxReplicas) * (cores*s.CPUHourPrice + gib*s.MemoryGiBHourPrice) * s.HoursPerMonth
	msg := fmt.Sprintf("at maxReplicas %d, %s %q requests %.2f CPU and %.2f GiB: up to %.2f %s a month",
		hpa.Spec.MaxReplicas, w.Kind, w.Meta.Name, cores*float64(hpa.Spec.MaxReplicas), gib*float64(hpa.Spec.MaxReplicas), monthly, s.Currency)
	if s.MonthlyBudget > 0 && monthly > s.MonthlyBudget {
		return Findings{{Rule: CostCeiling, Action: Deny, Path: pathMaxReplicas,
			Message: fmt.Sprintf("%s, over the budget of %.2f %s; lower spec.maxReplicas or the requests", msg, s.MonthlyBudget, s.Currency)}}
	}
	return Findings{{Rule: CostCeiling, Action: Warn, Path: pathMaxReplicas, Message: msg}}
}
