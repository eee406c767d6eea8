package oracle

import (
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Checker replays a case through both controllers and returns their first
// disagreement, or nil.
type Checker func(Case) (*Disagreement, error)

// Shrink makes a disagreeing case smaller while it still disagrees: the
// trace cut at the first disagreement, then samples, metrics, policies and
// settings removed one at a time, each kept out only if the two sides still
// disagree. budget bounds the replays.
func Shrink(c Case, d Disagreement, check Checker, budget int) (Case, Disagreement) {
	try := func(candidate Case) bool {
		if budget <= 0 {
			return false
		}
		budget--
		got, err := check(candidate)
		if err != nil || got == nil {
			return false
		}
		c, d = candidate, *got
		return true
	}
	try(cut(c, d))
	for changed := true; changed && budget > 0; {
		changed = false
		for _, candidate := range simpler(c) {
			if try(candidate) {
				changed = true
				try(cut(c, d))
				break
			}
		}
	}
	c.Name += " (shrunk)"
	return c, d
}

// cut ends the trace at the disagreeing sync.
func cut(c Case, d Disagreement) Case {
	at := int(d.At.Seconds())
	out := c.clone()
	last := c.Trace.At(at)
	out.Trace.Samples = slices.DeleteFunc(out.Trace.Samples, func(s Sample) bool { return s.Seconds > at })
	if n := len(out.Trace.Samples); out.Trace.Samples[n-1].Seconds < at {
		out.Trace.Samples = append(out.Trace.Samples, Sample{Seconds: at, Tenths: slices.Clone(last.Tenths)})
	}
	return out
}

// simpler lists the cases one step simpler than c, the likeliest to help
// first.
func simpler(c Case) []Case {
	var out []Case
	edit := func(f func(*Case)) {
		x := c.clone()
		f(&x)
		out = append(out, x)
	}
	if c.OpenLoop {
		edit(func(x *Case) { x.OpenLoop = false })
	}
	if c.MeasuredAt != 0 {
		edit(func(x *Case) { x.MeasuredAt = 0 })
	}
	if c.InitialReplicas != c.minReplicas() {
		edit(func(x *Case) { x.InitialReplicas = x.minReplicas() })
	}
	for col := range c.Trace.Columns {
		if len(c.Trace.Columns) > 1 {
			edit(func(x *Case) { x.dropColumn(col) })
		}
	}
	// Samples, last first: a later sample matters to fewer syncs.
	for i := len(c.Trace.Samples) - 2; i >= 1; i-- {
		edit(func(x *Case) { x.Trace.Samples = slices.Delete(x.Trace.Samples, i, i+1) })
	}
	b := c.HPA.Spec.Behavior
	if b == nil {
		return out
	}
	for _, dir := range []string{"up", "down"} {
		rules := func(x *Case) **autoscalingv2.HPAScalingRules {
			if dir == "up" {
				return &x.HPA.Spec.Behavior.ScaleUp
			}
			return &x.HPA.Spec.Behavior.ScaleDown
		}
		r := *rules(&c)
		if r == nil {
			continue
		}
		edit(func(x *Case) { *rules(x) = nil })
		for i := range r.Policies {
			if len(r.Policies) > 1 {
				edit(func(x *Case) { (*rules(x)).Policies = slices.Delete((*rules(x)).Policies, i, i+1) })
			}
		}
		if r.Tolerance != nil {
			edit(func(x *Case) { (*rules(x)).Tolerance = nil })
		}
		if r.SelectPolicy != nil {
			edit(func(x *Case) { (*rules(x)).SelectPolicy = nil })
		}
		if r.StabilizationWindowSeconds != nil {
			edit(func(x *Case) { (*rules(x)).StabilizationWindowSeconds = nil })
		}
	}
	return out
}

func (c Case) clone() Case {
	out := c
	out.HPA = c.HPA.DeepCopy()
	out.Trace.Columns = slices.Clone(c.Trace.Columns)
	out.Trace.Samples = make([]Sample, len(c.Trace.Samples))
	for i, s := range c.Trace.Samples {
		out.Trace.Samples[i] = Sample{Seconds: s.Seconds, Tenths: slices.Clone(s.Tenths)}
	}
	return out
}

// dropColumn removes a trace column and the HPA's metric of that name.
func (c *Case) dropColumn(col int) {
	name := c.Trace.Columns[col]
	c.Trace.Columns = slices.Delete(c.Trace.Columns, col, col+1)
	for i := range c.Trace.Samples {
		c.Trace.Samples[i].Tenths = slices.Delete(c.Trace.Samples[i].Tenths, col, col+1)
	}
	c.HPA.Spec.Metrics = slices.DeleteFunc(c.HPA.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
		return m.Resource != nil && string(m.Resource.Name) == name
	})
}
