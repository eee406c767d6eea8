package scaling

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// FuzzFastestPath looks for panics and non-termination on arbitrary specs:
// negative, zero and huge values, unknown policy types and select values,
// nil fields. Each analysis is bounded by its horizon and step cap, so a
// hang here is a bug.
func FuzzFastestPath(f *testing.F) {
	f.Add(int32(2), int32(10), uint8(0), int32(100), int32(30), uint8(1), int32(2), int32(30),
		int32(0), int32(300), uint8(0), int64(100), uint8(0xff), uint16(15))
	f.Add(int32(0), int32(5), uint8(0), int32(100), int32(15), uint8(0), int32(90), int32(60),
		int32(-1), int32(-1), uint8(3), int64(1000), uint8(0x3f), uint16(1))
	f.Add(int32(1), int32(2147483647), uint8(1), int32(2147483647), int32(1), uint8(1), int32(-5), int32(0),
		int32(3600), int32(2147483647), uint8(1), int64(-5), uint8(0x7f), uint16(3600))
	f.Add(int32(-3), int32(-7), uint8(2), int32(0), int32(-60), uint8(2), int32(0), int32(1800),
		int32(0), int32(0), uint8(2), int64(0), uint8(0x01), uint16(0))

	f.Fuzz(func(t *testing.T, minR, maxR int32, upType uint8, upValue, upPeriod int32, downType uint8, downValue, downPeriod int32,
		upWindow, downWindow int32, sel uint8, tolMilli int64, flags uint8, syncSeconds uint16) {
		spec := fuzzSpec(minR, maxR, upType, upValue, upPeriod, downType, downValue, downPeriod, upWindow, downWindow, sel, tolMilli, flags)
		opts := Options{
			SyncPeriod: time.Duration(syncSeconds) * time.Second,
			Horizon:    6 * time.Hour,
		}
		if flags&0x80 != 0 {
			opts.Tolerance = ptrTo(float64(tolMilli) / 1000)
		}
		_ = Stuck(spec, opts)
		for _, p := range []Path{FastestScaleUp(spec, opts), FastestScaleDown(spec, opts)} {
			if len(p.Points) == 0 {
				t.Fatalf("%s: no points", p.Direction)
			}
			if last := p.Points[len(p.Points)-1]; last.Replicas != p.Final {
				t.Fatalf("%s: final %d but last point %v", p.Direction, p.Final, last)
			}
			if p.Reached == (len(p.Stuck) > 0) {
				t.Fatalf("%s: reached=%v with stuck reasons %v", p.Direction, p.Reached, p.Stuck)
			}
			if p.Reached && p.Final != p.To {
				t.Fatalf("%s: reached but final %d != %d", p.Direction, p.Final, p.To)
			}
			for i := 1; i < len(p.Points); i++ {
				if p.Points[i].After < p.Points[i-1].After || p.Points[i].After > p.Horizon {
					t.Fatalf("%s: points out of order or past the horizon: %v", p.Direction, p.Points)
				}
			}
		}
	})
}

func fuzzSpec(minR, maxR int32, upType uint8, upValue, upPeriod int32, downType uint8, downValue, downPeriod int32,
	upWindow, downWindow int32, sel uint8, tolMilli int64, flags uint8) *autoscalingv2.HorizontalPodAutoscalerSpec {
	if flags&0x40 == 0 {
		return nil
	}
	spec := &autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: maxR}
	if flags&0x01 != 0 {
		spec.MinReplicas = &minR
	}
	if flags&0x02 == 0 {
		return spec
	}
	policyType := func(b uint8) autoscalingv2.HPAScalingPolicyType {
		return [...]autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy, "Replicas"}[b%3]
	}
	selects := [...]autoscalingv2.ScalingPolicySelect{autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect,
		autoscalingv2.DisabledPolicySelect, "Fastest"}
	rules := func(on bool, t uint8, value, period, window int32, s uint8) *autoscalingv2.HPAScalingRules {
		if !on {
			return nil
		}
		r := &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: &window,
			SelectPolicy:               &selects[s%4],
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: policyType(t), Value: value, PeriodSeconds: period},
				{Type: policyType(t / 3), Value: value / 3, PeriodSeconds: period / 2},
			},
			Tolerance: resource.NewMilliQuantity(tolMilli, resource.DecimalSI),
		}
		if t&0x80 != 0 {
			r.Policies = []autoscalingv2.HPAScalingPolicy{}
		}
		return r
	}
	spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   rules(flags&0x04 != 0, upType, upValue, upPeriod, upWindow, sel),
		ScaleDown: rules(flags&0x08 != 0, downType, downValue, downPeriod, downWindow, sel/4),
	}
	return spec
}
