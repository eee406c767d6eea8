package scaling

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// The analyses run inside admission requests; these keep their cost in view.
func benchmarkSpecs() map[string]*autoscalingv2.HorizontalPodAutoscalerSpec {
	return map[string]*autoscalingv2.HorizontalPodAutoscalerSpec{
		"design-card":     designCardSpec(),
		"no-behavior":     {MinReplicas: ptrTo[int32](2), MaxReplicas: 500},
		"default-to-5000": specWith(ptrTo[int32](1), 5000, nil, nil),
		// One pod per minute towards 10 000 replicas runs into the 24 h horizon.
		"slow-pods-to-horizon": specWith(ptrTo[int32](1), 10000, rulesOf(1, 60, 0, 0, 0), rulesOf(1, 60, 0, 0, 600)),
		"long-windows":         specWith(ptrTo[int32](1), 200, rulesOf(2, 1800, 10, 900, 3600), rulesOf(1, 1800, 5, 600, 3600)),
	}
}

func BenchmarkFastestScaleUp(b *testing.B) {
	for name, spec := range benchmarkSpecs() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				FastestScaleUp(spec, Options{})
			}
		})
	}
}

func BenchmarkFastestScaleDown(b *testing.B) {
	for name, spec := range benchmarkSpecs() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				FastestScaleDown(spec, Options{})
			}
		})
	}
}

func BenchmarkStuck(b *testing.B) {
	spec := designCardSpec()
	for b.Loop() {
		Stuck(spec, Options{})
	}
}

func BenchmarkControllerStep(b *testing.B) {
	c := NewController(designCardSpec(), Options{})
	current := int32(2)
	at := testNow
	for i := 0; b.Loop(); i++ {
		ratio := 3.0
		if i%40 >= 20 {
			ratio = 0.2
		}
		current = c.StepUsageRatio(at, current, ratio).Replicas
		at = at.Add(15 * time.Second)
	}
}
