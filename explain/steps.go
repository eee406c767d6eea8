package explain

import (
	"fmt"
	"strconv"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// Step is one rescale on a fastest path, with the arithmetic behind it.
type Step struct {
	At       time.Duration
	From, To int32
	// Reason is the controller's ScalingLimited reason: ScaleUpLimit or
	// ScaleDownLimit when a policy bound the step, TooManyReplicas or
	// TooFewReplicas when a bound did, DesiredWithinRange when nothing did.
	Reason scaling.Reason
	// Allowances are what each policy of the direction allowed at this
	// sync; empty on the legacy (no behavior) path.
	Allowances []Allowance
	// Legacy is the legacy path's scale-up cap, max(2 × current, 4), when
	// the HPA has no behavior and scales up; zero otherwise.
	Legacy int32
}

// Allowance is the limit one scaling policy set at one sync.
type Allowance struct {
	Policy autoscalingv2.HPAScalingPolicy
	// Start is the replica count at the start of the policy's period: the
	// current count with the period's scale events undone.
	Start int32
	// Allowed is the count the policy allows: Start ± Value for Pods,
	// ceil(Start × (1 + Value/100)) up or trunc(Start × (1 − Value/100))
	// down for Percent.
	Allowed int32
	// Chosen marks the policy selectPolicy picked.
	Chosen bool
	up     bool
}

// String shows the arithmetic: "Percent 100%/30s: ceil(4 × 2) = 8".
func (a Allowance) String() string {
	p := a.Policy
	switch {
	case p.Type == autoscalingv2.PodsScalingPolicy && a.up:
		return fmt.Sprintf("Pods %d/%ds: %d + %d = %d", p.Value, p.PeriodSeconds, a.Start, p.Value, a.Allowed)
	case p.Type == autoscalingv2.PodsScalingPolicy:
		return fmt.Sprintf("Pods %d/%ds: %d − %d = %d", p.Value, p.PeriodSeconds, a.Start, p.Value, a.Allowed)
	case a.up:
		return fmt.Sprintf("Percent %d%%/%ds: ceil(%d × %s) = %d", p.Value, p.PeriodSeconds, a.Start, factor(1+float64(p.Value)/100), a.Allowed)
	default:
		return fmt.Sprintf("Percent %d%%/%ds: trunc(%d × %s) = %d", p.Value, p.PeriodSeconds, a.Start, factor(1-float64(p.Value)/100), a.Allowed)
	}
}

func factor(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Steps explains each rescale of path, a fastest path of spec. The policy
// limits are recomputed from the path's own earlier steps, which are the
// only scale events a fastest path has: it starts from a steady state.
func Steps(spec *autoscalingv2.HorizontalPodAutoscalerSpec, path scaling.Path) []Step {
	var behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
	if spec != nil {
		behavior = scaling.DefaultedBehavior(spec.Behavior)
	}
	// Any instant works: the limits depend only on the events' ages.
	epoch := time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	var ups, downs []scaling.ScaleEvent
	var steps []Step
	for i := 1; i < len(path.Points); i++ {
		prev, p := path.Points[i-1], path.Points[i]
		now := epoch.Add(p.After)
		s := Step{At: p.After, From: prev.Replicas, To: p.Replicas, Reason: p.Reason}
		switch {
		case behavior == nil && p.Replicas > prev.Replicas:
			s.Legacy = max(2*prev.Replicas, 4)
		case behavior != nil && p.Replicas > prev.Replicas:
			s.Allowances = allowances(now, prev.Replicas, ups, downs, behavior.ScaleUp, true)
		case behavior != nil:
			s.Allowances = allowances(now, prev.Replicas, ups, downs, behavior.ScaleDown, false)
		}
		if p.Replicas > prev.Replicas {
			ups = append(ups, scaling.ScaleEvent{At: now, Change: p.Replicas - prev.Replicas})
		} else {
			downs = append(downs, scaling.ScaleEvent{At: now, Change: prev.Replicas - p.Replicas})
		}
		steps = append(steps, s)
	}
	return steps
}

// allowances evaluates every policy of rules alone, then marks the one the
// whole rule set agrees with (scaling.ScaleUpLimit/ScaleDownLimit), which is
// the one selectPolicy picked.
func allowances(now time.Time, current int32, ups, downs []scaling.ScaleEvent, rules *autoscalingv2.HPAScalingRules, up bool) []Allowance {
	limit := scaling.ScaleDownLimit(now, current, ups, downs, rules)
	if up {
		limit = scaling.ScaleUpLimit(now, current, ups, downs, rules)
	}
	out := make([]Allowance, 0, len(rules.Policies))
	chosen := false
	for _, p := range rules.Policies {
		start := current - scaling.ReplicasChangeInPeriod(now, p.PeriodSeconds, ups) + scaling.ReplicasChangeInPeriod(now, p.PeriodSeconds, downs)
		a := Allowance{Policy: p, Start: start, up: up}
		switch {
		case p.Type == autoscalingv2.PodsScalingPolicy && up:
			a.Allowed = start + p.Value
		case p.Type == autoscalingv2.PodsScalingPolicy:
			a.Allowed = start - p.Value
		case up:
			a.Allowed = scaling.PercentScaleUpLimit(start, p.Value)
		default:
			a.Allowed = scaling.PercentScaleDownLimit(start, p.Value)
		}
		if !chosen && a.Allowed == limit {
			a.Chosen, chosen = true, true
		}
		out = append(out, a)
	}
	return out
}
