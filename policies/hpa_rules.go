package policies

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// A mutate rule looks at the HPA and, if it breaks the rule, says what it
// would change (fix) and changes it when asked (apply). The caller decides,
// from the rule's action, whether to apply, warn or deny.
type mutation struct {
	path *field.Path
	// done says what was changed, for a mutate finding.
	done string
	// fix says what to write, for a warn or deny finding.
	fix   string
	apply func(*autoscalingv2.HorizontalPodAutoscaler)
}

// The fields of an HPA findings point at. A field.Path is never changed,
// only extended, so these are shared.
var (
	pathAPIVersion     = field.NewPath("apiVersion")
	pathMetadata       = field.NewPath("metadata")
	pathScaleTargetRef = field.NewPath("spec", "scaleTargetRef")
	pathMinReplicas    = field.NewPath("spec", "minReplicas")
	pathMaxReplicas    = field.NewPath("spec", "maxReplicas")
	pathMetrics        = field.NewPath("spec", "metrics")
	pathBehavior       = field.NewPath("spec", "behavior")

	// hpaFields are where an HPA writes the fields the scaling analyses
	// name: its own.
	hpaFields = scaling.HPAFields()
)

// minReplicasRule raises minReplicas to the minimum: with one replica, a
// rollout or a node drain takes the whole workload down. The minimum is
// scaleguard's own standard. The API server defaults an absent minReplicas
// to 1 (k8s.io/kubernetes v1.37.2 pkg/apis/autoscaling/v2/defaults.go
// SetDefaults_HorizontalPodAutoscaler), so absent and 1 are the same here,
// and refuses maxReplicas below minReplicas
// (pkg/apis/autoscaling/validation validateHorizontalPodAutoscalerSpec), so
// a maxReplicas below the minimum is refused rather than patched.
func minReplicasRule(hpa *autoscalingv2.HorizontalPodAutoscaler, minimum int32) (*mutation, *Finding) {
	current := ptr.Deref(hpa.Spec.MinReplicas, 1)
	if current >= minimum {
		return nil, nil
	}
	if hpa.Spec.MaxReplicas < minimum {
		return nil, &Finding{Rule: MinReplicas, Action: Deny, Path: pathMaxReplicas,
			Message: fmt.Sprintf("maxReplicas is %d, below the required minimum of %d replicas; set spec.maxReplicas to at least %d",
				hpa.Spec.MaxReplicas, minimum, minimum)}
	}
	return &mutation{
		path:  pathMinReplicas,
		done:  fmt.Sprintf("raised minReplicas from %d to %d", current, minimum),
		fix:   fmt.Sprintf("minReplicas is %d; set spec.minReplicas: %d so one pod lost is not an outage", current, minimum),
		apply: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr.To(minimum) },
	}, nil
}

// memoryTargetRule adds a memory utilization target when the HPA has no
// memory metric: a workload that runs out of memory before it runs out of
// CPU is otherwise never scaled out. scaleguard's own standard; the HPA
// controller scales to the largest proposal of all metrics
// (k8s.io/kubernetes v1.37.2 pkg/controller/podautoscaler/horizontal.go
// computeReplicasForMetrics), so the target only ever adds capacity.
func memoryTargetRule(hpa *autoscalingv2.HorizontalPodAutoscaler, percent int32) *mutation {
	for _, m := range hpa.Spec.Metrics {
		if m.Resource != nil && m.Resource.Name == corev1.ResourceMemory {
			return nil
		}
		if m.ContainerResource != nil && m.ContainerResource.Name == corev1.ResourceMemory {
			return nil
		}
	}
	return &mutation{
		path: pathMetrics,
		done: fmt.Sprintf("added a memory target of %d%% average utilization", percent),
		fix: fmt.Sprintf("no memory metric; add {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: %d}}} to spec.metrics",
			percent),
		apply: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = append(h.Spec.Metrics, utilizationMetric(corev1.ResourceMemory, percent))
		},
	}
}

// behaviorDefaultsRule gives an HPA the standard behavior when it has none.
// A direction equal to what the API server fills in by itself counts as
// unset (the webhook only ever sees defaulted objects), and a nil scale-down
// window, which means "the controller's flag", is written out. What the API
// server fills in is k8s.io/kubernetes v1.37.2 pkg/apis/autoscaling/v2/
// defaults.go SetDefaults_HorizontalPodAutoscalerBehavior,
// GenerateHPAScaleUpRules and GenerateHPAScaleDownRules
// (scaling.KubernetesScaleUpRules, scaling.KubernetesScaleDownRules). The
// findings point under behavior, where the object judged writes the HPA's
// behavior.
func behaviorDefaultsRule(hpa *autoscalingv2.HorizontalPodAutoscaler, standard autoscalingv2.HorizontalPodAutoscalerBehavior, behavior *field.Path) *mutation {
	b := hpa.Spec.Behavior
	if b == nil {
		return &mutation{
			path: behavior,
			done: "added the standard behavior (scale up fast, down slowly)",
			fix:  "no behavior; add spec.behavior with scaleUp and scaleDown policies (see docs/rules.md#behavior-defaults)",
			apply: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior = standard.DeepCopy()
			},
		}
	}
	replaceUp := b.ScaleUp == nil || apiequality.Semantic.DeepEqual(b.ScaleUp, scaling.KubernetesScaleUpRules())
	replaceDown := b.ScaleDown == nil || apiequality.Semantic.DeepEqual(b.ScaleDown, scaling.KubernetesScaleDownRules())
	fillWindow := !replaceDown && b.ScaleDown.StabilizationWindowSeconds == nil && standard.ScaleDown.StabilizationWindowSeconds != nil
	if !replaceUp && !replaceDown && !fillWindow {
		return nil
	}
	m := &mutation{path: behavior}
	switch {
	case replaceUp && replaceDown:
		m.done = "replaced Kubernetes's default scaleUp and scaleDown with the standard's"
		m.fix = "behavior has only Kubernetes's defaults; set spec.behavior.scaleUp and .scaleDown"
	case replaceUp:
		m.path = behavior.Child("scaleUp")
		m.done = "replaced Kubernetes's default scaleUp with the standard's"
		m.fix = "scaleUp has only Kubernetes's defaults; set spec.behavior.scaleUp"
	case replaceDown:
		m.path = behavior.Child("scaleDown")
		m.done = "replaced Kubernetes's default scaleDown with the standard's"
		m.fix = "scaleDown has only Kubernetes's defaults; set spec.behavior.scaleDown"
	}
	window := ptr.Deref(standard.ScaleDown.StabilizationWindowSeconds, 0)
	if fillWindow {
		if m.done == "" {
			m.path = behavior.Child("scaleDown", "stabilizationWindowSeconds")
			m.done = fmt.Sprintf("set scaleDown.stabilizationWindowSeconds to %d", window)
			m.fix = fmt.Sprintf("scaleDown.stabilizationWindowSeconds is unset; set it to %d", window)
		} else {
			m.done += fmt.Sprintf("; set scaleDown.stabilizationWindowSeconds to %d", window)
		}
	}
	m.apply = func(h *autoscalingv2.HorizontalPodAutoscaler) {
		if replaceUp {
			h.Spec.Behavior.ScaleUp = standard.ScaleUp.DeepCopy()
		}
		if replaceDown {
			h.Spec.Behavior.ScaleDown = standard.ScaleDown.DeepCopy()
		}
		if fillWindow {
			h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = ptr.To(window)
		}
	}
	return m
}
