package oracle

import (
	"fmt"
	"math/rand/v2"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// RandomCase is the index-th case of seed: an HPA the API server would
// accept and a utilization trace of at least syncs syncs. The same seed and
// index always give the same case.
func RandomCase(seed uint64, index, syncs int) Case {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	g := generator{r: r}
	hpa, columns, targets := g.hpa()
	c := Case{Name: fmt.Sprintf("seed %d case %d", seed, index), HPA: hpa}
	c.Trace = g.trace(columns, targets, syncs)
	minReplicas, maxReplicas := *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas
	c.InitialReplicas = minReplicas
	if g.chance(0.35) {
		// Anywhere, out of bounds included: the controller's jump to a bound.
		c.InitialReplicas = 1 + r.Int32N(maxReplicas+5)
	}
	if g.chance(0.4) {
		c.MeasuredAt = 1 + r.Int32N(maxReplicas)
	}
	c.OpenLoop = g.chance(0.15)
	return c
}

type generator struct{ r *rand.Rand }

func (g generator) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g generator, choices ...T) T { return choices[g.r.IntN(len(choices))] }

// hpa returns a random HPA with its Resource metrics' names and
// utilization targets.
func (g generator) hpa() (*autoscalingv2.HorizontalPodAutoscaler, []string, []int32) {
	minReplicas := 1 + g.r.Int32N(5)
	maxReplicas := minReplicas + g.r.Int32N(30)
	if g.chance(0.1) {
		maxReplicas = minReplicas + g.r.Int32N(3)
	}
	var columns []string
	switch x := g.r.Float64(); {
	case x < 0.65:
		columns = []string{"cpu"}
	case x < 0.9:
		columns = []string{"cpu", "memory"}
	default:
		columns = []string{"memory"}
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(minReplicas),
			MaxReplicas:    maxReplicas,
		},
	}
	targets := make([]int32, len(columns))
	for i, col := range columns {
		targets[i] = pick(g, 50, 60, 70, 80, 90, 10+g.r.Int32N(141))
		hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceName(col),
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(targets[i])},
			},
		})
	}
	if !g.chance(0.12) {
		hpa.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
		if !g.chance(0.2) {
			hpa.Spec.Behavior.ScaleUp = g.rules(true)
		}
		if !g.chance(0.2) {
			hpa.Spec.Behavior.ScaleDown = g.rules(false)
		}
	}
	return hpa, columns, targets
}

// rules returns one direction of a behavior, every field sometimes left
// for the API server (and, for the scale-down window, the controller) to
// fill.
func (g generator) rules(up bool) *autoscalingv2.HPAScalingRules {
	rules := &autoscalingv2.HPAScalingRules{}
	if !g.chance(0.25) {
		rules.StabilizationWindowSeconds = ptr.To(pick(g, 0, 0, 15, 30, 45, 60, 120, 300, g.r.Int32N(601)))
	}
	if !g.chance(0.2) {
		rules.SelectPolicy = ptr.To(pick(g, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MaxChangePolicySelect,
			autoscalingv2.MinChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect))
		if *rules.SelectPolicy == autoscalingv2.DisabledPolicySelect && g.chance(0.5) {
			// Disabled is rare in practice; keep it from dominating.
			rules.SelectPolicy = ptr.To(autoscalingv2.MaxChangePolicySelect)
		}
	}
	if !g.chance(0.15) {
		for range 1 + g.r.IntN(3) {
			p := autoscalingv2.HPAScalingPolicy{PeriodSeconds: pick(g, 15, 15, 30, 60, 60, 120, 300, 1+g.r.Int32N(600), 1800)}
			if g.chance(0.5) {
				p.Type, p.Value = autoscalingv2.PodsScalingPolicy, pick(g, 1, 2, 4, 1+g.r.Int32N(10))
			} else if up {
				p.Type, p.Value = autoscalingv2.PercentScalingPolicy, pick(g, 10, 12, 50, 100, 200, 1+g.r.Int32N(300))
			} else {
				p.Type, p.Value = autoscalingv2.PercentScalingPolicy, pick(g, 10, 33, 50, 90, 100, 1+g.r.Int32N(100))
			}
			rules.Policies = append(rules.Policies, p)
		}
	}
	if g.chance(0.25) {
		// behavior.*.tolerance: served (HPAConfigurableTolerance is GA and
		// locked on in v1.37).
		rules.Tolerance = ptr.To(resource.MustParse(pick(g, "0", "0.01", "0.05", "150m", "0.2", "0.333", "0.5")))
	}
	return rules
}

// trace returns a trace for the columns: each a shape around its target
// (steps, ramps, spikes, noise, or all of them), with samples at uneven
// times so that holding a sample between syncs matters.
func (g generator) trace(columns []string, targets []int32, syncs int) Trace {
	end := (syncs - 1) * SyncPeriodSeconds
	var times []int
	for at := 0; at < end; at += pick(g, 15, 15, 30, 60, 5, 20, 45, 1+g.r.IntN(120)) {
		times = append(times, at)
	}
	times = append(times, end)
	t := Trace{Columns: columns, Samples: make([]Sample, len(times))}
	for i, at := range times {
		t.Samples[i] = Sample{Seconds: at, Tenths: make([]int64, len(columns))}
	}
	for col, target := range targets {
		shape := g.shape(float64(target)*10, end)
		for i, at := range times {
			t.Samples[i].Tenths[col] = max(0, int64(shape(at)))
		}
	}
	return t
}

// shape returns a load in tenths of a percent over time, around a target.
func (g generator) shape(target float64, end int) func(at int) float64 {
	level := func() float64 {
		return target * pick(g, 0.0, 0.2, 0.5, 0.8, 0.95, 1.0, 1.05, 1.1, 1.5, 2, 3, 6, g.r.Float64()*4)
	}
	switch g.r.IntN(5) {
	case 0: // steps
		var edges []int
		var levels []float64
		for at := 0; at <= end; at += 60 + g.r.IntN(900) {
			edges, levels = append(edges, at), append(levels, level())
		}
		return func(at int) float64 {
			v := levels[0]
			for i, e := range edges {
				if e <= at {
					v = levels[i]
				}
			}
			return v
		}
	case 1: // ramp up then down
		low, high := level(), level()
		peak := g.r.IntN(end + 1)
		return func(at int) float64 {
			if at <= peak {
				return low + (high-low)*float64(at)/float64(max(peak, 1))
			}
			return high - (high-low)*float64(at-peak)/float64(max(end-peak, 1))
		}
	case 2: // spikes over a base
		base, spike := level(), target*(2+g.r.Float64()*8)
		var starts []int
		for range 1 + g.r.IntN(4) {
			starts = append(starts, g.r.IntN(end+1))
		}
		length := 15 + g.r.IntN(600)
		return func(at int) float64 {
			for _, s := range starts {
				if at >= s && at < s+length {
					return spike
				}
			}
			return base
		}
	case 3: // noise around a level
		base, spread := level(), g.r.Float64()*0.4
		return func(int) float64 { return base * (1 + spread*(2*g.r.Float64()-1)) }
	default: // all of it
		steps, ramp, spikes := g.shape(target, end), g.shape(target, end), g.shape(target, end)
		return func(at int) float64 {
			return (steps(at) + ramp(at) + spikes(at)) / 3 * (0.9 + 0.2*g.r.Float64())
		}
	}
}
