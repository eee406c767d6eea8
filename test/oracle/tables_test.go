package oracle

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scaleguard/scaleguard/policies/scaling"
)

// tablesNow stands for every time.Now() of the upstream tables: they mean
// one instant, and one fixed instant keeps the window edges exact.
var tablesNow = time.Date(2000, time.January, 1, 12, 0, 0, 0, time.UTC)

// TestUpstreamTables runs every case of the HPA controller's own table
// tests, read from horizontal_test.go of the pinned k8s.io/kubernetes in the
// module cache, against the policies/scaling function that reproduces the
// function the upstream test calls.
func TestUpstreamTables(t *testing.T) {
	u, err := loadUpstreamSource()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, tt := range upstreamTableTests {
		table, err := u.Table(tt.test, tablesNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(table.Cases) == 0 {
			t.Fatalf("%s: no cases extracted", tt.test)
		}
		t.Run(tt.test, func(t *testing.T) {
			for i, c := range table.Cases {
				t.Run(c.name(i), func(t *testing.T) {
					if err := c.only(tt.fields); err != nil {
						t.Fatal(err)
					}
					if err := tt.run(table, c); err != nil {
						t.Error(err)
					}
				})
			}
		})
		total += len(table.Cases)
	}
	for _, ct := range upstreamCallTests {
		t.Run(ct.test, func(t *testing.T) {
			args, want, err := u.Call(ct.test, ct.function, tablesNow)
			if err != nil {
				t.Fatal(err)
			}
			if err := ct.run(args, want); err != nil {
				t.Error(err)
			}
		})
		total++
	}
	t.Logf("upstream tables: %d cases from %d tests of %s/horizontal_test.go", total, len(upstreamTableTests)+len(upstreamCallTests), u.Dir)
}

// upstreamTableTests name each table test, the fields its cases may set
// (a new field upstream stops the test until it is understood), and how a
// case runs against policies/scaling.
var upstreamTableTests = []struct {
	test   string
	fields []string
	run    func(*upstreamTable, record) error
}{
	{
		// convertDesiredReplicasWithBehaviorRate → scaling.LimitRate.
		test: "TestScalingWithRules",
		fields: []string{"name", "key", "scaleUpEvents", "scaleDownEvents", "specMinReplicas", "specMaxReplicas",
			"scaleUpRules", "scaleDownRules", "currentReplicas", "prenormalizedDesiredReplicas", "expectedReplicas", "expectedCondition"},
		run: func(_ *upstreamTable, c record) error {
			ups, err := c.events("scaleUpEvents")
			if err != nil {
				return err
			}
			downs, err := c.events("scaleDownEvents")
			if err != nil {
				return err
			}
			behavior := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: c.rules("scaleUpRules"), ScaleDown: c.rules("scaleDownRules")}
			got, reason := scaling.LimitRate(tablesNow, c.int32("currentReplicas"), c.int32("prenormalizedDesiredReplicas"),
				c.int32("specMinReplicas"), c.int32("specMaxReplicas"), behavior, ups, downs)
			return expect(c, "expectedReplicas", got, "expectedCondition", string(reason))
		},
	},
	{
		// stabilizeRecommendationWithBehaviors → scaling.StabilizeWithBehavior.
		test: "TestNormalizeDesiredReplicasWithBehavior",
		fields: []string{"name", "key", "recommendations", "currentReplicas", "prenormalizedDesiredReplicas", "expectedStabilizedReplicas",
			"expectedRecommendations", "scaleUpStabilizationWindowSeconds", "scaleDownStabilizationWindowSeconds"},
		run: func(_ *upstreamTable, c record) error {
			recs, err := c.recommendations("recommendations")
			if err != nil {
				return err
			}
			got, _, kept := scaling.StabilizeWithBehavior(recs, tablesNow, c.int32("currentReplicas"), c.int32("prenormalizedDesiredReplicas"),
				time.Duration(c.int32("scaleUpStabilizationWindowSeconds"))*time.Second,
				time.Duration(c.int32("scaleDownStabilizationWindowSeconds"))*time.Second)
			if err := expect(c, "expectedStabilizedReplicas", got); err != nil {
				return err
			}
			if _, ok := c["expectedRecommendations"]; !ok {
				return nil
			}
			want, err := c.recommendations("expectedRecommendations")
			if err != nil {
				return err
			}
			return sameReplicas(want, kept)
		},
	},
	{
		// stabilizeRecommendation (no behavior) → scaling.StabilizeLegacy.
		test:   "TestNormalizeDesiredReplicas",
		fields: []string{"name", "key", "recommendations", "prenormalizedDesiredReplicas", "expectedStabilizedReplicas", "expectedLogLength"},
		run: func(table *upstreamTable, c record) error {
			window, err := table.KeyValue("downscaleStabilisationWindow")
			if err != nil {
				return err
			}
			recs, err := c.recommendations("recommendations")
			if err != nil {
				return err
			}
			got, kept := scaling.StabilizeLegacy(recs, tablesNow, c.int32("prenormalizedDesiredReplicas"), window.(time.Duration))
			return expect(c, "expectedStabilizedReplicas", got, "expectedLogLength", int32(len(kept)))
		},
	},
	{
		// convertDesiredReplicasWithRules → scaling.LimitLegacy.
		test: "TestConvertDesiredReplicasWithRules",
		fields: []string{"currentReplicas", "expectedDesiredReplicas", "hpaMinReplicas", "hpaMaxReplicas",
			"expectedConvertedDesiredReplicas", "expectedCondition", "annotation"},
		run: func(_ *upstreamTable, c record) error {
			got, reason := scaling.LimitLegacy(c.int32("currentReplicas"), c.int32("expectedDesiredReplicas"), c.int32("hpaMinReplicas"), c.int32("hpaMaxReplicas"))
			return expect(c, "expectedConvertedDesiredReplicas", got, "expectedCondition", string(reason))
		},
	},
	{
		// getReplicasChangePerPeriod and storeScaleEvent, both directions →
		// scaling.ReplicasChangeInPeriod and scaling.StoreScaleEvent.
		test:   "TestStoreScaleEvents",
		fields: []string{"name", "key", "replicaChange", "prevScaleEvents", "newScaleEvents", "scalingRules", "expectedReplicasChange"},
		run: func(_ *upstreamTable, c record) error {
			for _, dir := range []string{"up", "down"} {
				prev, err := c.events("prevScaleEvents")
				if err != nil {
					return err
				}
				if err := expect(c, "expectedReplicasChange", scaling.ReplicasChangeInPeriod(tablesNow, 60, prev)); err != nil {
					return fmt.Errorf("%s: %w", dir, err)
				}
				got := scaling.StoreScaleEvent(prev, tablesNow, c.rules("scalingRules"), c.int32("replicaChange"))
				want, _ := c["newScaleEvents"].([]any)
				if len(got) != len(want) {
					return fmt.Errorf("%s: %d events stored, upstream expects %d", dir, len(got), len(want))
				}
				for i, w := range want {
					w := w.(record)
					if got[i].Change != int32(w["replicaChange"].(int64)) || got[i].Outdated() != w["outdated"].(bool) {
						return fmt.Errorf("%s: event %d is %+v (outdated %v), upstream expects %v", dir, i, got[i], got[i].Outdated(), w)
					}
				}
			}
			return nil
		},
	},
}

// upstreamCallTests are the single-call tests: one call and one
// assert.Equal.
var upstreamCallTests = []struct {
	test, function string
	run            func(args []any, want any) error
}{
	{
		test: "TestCalculateScaleUpLimitWithScalingRules", function: "calculateScaleUpLimitWithScalingRules",
		run: func(args []any, want any) error {
			return limitCall(args, want, scaling.ScaleUpLimit)
		},
	},
	{
		test: "TestCalculateScaleDownLimitWithBehaviors", function: "calculateScaleDownLimitWithBehaviors",
		run: func(args []any, want any) error {
			return limitCall(args, want, scaling.ScaleDownLimit)
		},
	},
}

// limitCall runs calculateScale{Up,Down}Limit…(current, ups, downs, rules)
// through its scaleguard counterpart.
func limitCall(args []any, want any, limit func(time.Time, int32, []scaling.ScaleEvent, []scaling.ScaleEvent, *autoscalingv2.HPAScalingRules) int32) error {
	if len(args) != 4 {
		return fmt.Errorf("%d arguments, want 4", len(args))
	}
	c := record{"current": args[0], "ups": args[1], "downs": args[2], "rules": args[3]}
	ups, err := c.events("ups")
	if err != nil {
		return err
	}
	downs, err := c.events("downs")
	if err != nil {
		return err
	}
	got := limit(tablesNow, c.int32("current"), ups, downs, c.rules("rules"))
	if w, ok := want.(int64); !ok || int32(w) != got {
		return fmt.Errorf("got %d, upstream expects %v", got, want)
	}
	return nil
}

// only fails when a case sets a field the runner does not know.
func (r record) only(fields []string) error {
	var unknown []string
	for k := range r {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("upstream case sets fields this runner does not read: %v", unknown)
	}
	return nil
}

func (r record) int32(name string) int32 {
	v, _ := r[name].(int64)
	return int32(v)
}

func (r record) rules(name string) *autoscalingv2.HPAScalingRules {
	v, _ := r[name].(*autoscalingv2.HPAScalingRules)
	return v
}

// events converts []timestampedScaleEvent; nil stays nil.
func (r record) events(name string) ([]scaling.ScaleEvent, error) {
	items, _ := r[name].([]any)
	var out []scaling.ScaleEvent
	for _, it := range items {
		e := it.(record)
		if outdated, _ := e["outdated"].(bool); outdated {
			return nil, fmt.Errorf("%s: an event already marked outdated cannot be given to scaling.ScaleEvent", name)
		}
		change, _ := e["replicaChange"].(int64)
		at, _ := e["timestamp"].(time.Time)
		out = append(out, scaling.ScaleEvent{At: at, Change: int32(change)})
	}
	return out, nil
}

// recommendations converts []timestampedRecommendation.
func (r record) recommendations(name string) ([]scaling.Recommendation, error) {
	items, ok := r[name].([]any)
	if !ok && r[name] != nil {
		return nil, fmt.Errorf("%s is %T", name, r[name])
	}
	out := []scaling.Recommendation{}
	for _, it := range items {
		rec := it.(record)
		n, _ := rec["recommendation"].(int64)
		at, _ := rec["timestamp"].(time.Time)
		out = append(out, scaling.Recommendation{Replicas: int32(n), At: at})
	}
	return out, nil
}

// expect compares pairs of (expected field, got value).
func expect(c record, pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		field := pairs[i].(string)
		switch got := pairs[i+1].(type) {
		case int32:
			if want := c.int32(field); want != got {
				return fmt.Errorf("%s: got %d, upstream expects %d", field, got, want)
			}
		case string:
			if want, _ := c[field].(string); want != got {
				return fmt.Errorf("%s: got %q, upstream expects %q", field, got, want)
			}
		}
	}
	return nil
}

func sameReplicas(want, got []scaling.Recommendation) error {
	w, g := make([]int32, len(want)), make([]int32, len(got))
	for i := range want {
		w[i] = want[i].Replicas
	}
	for i := range got {
		g[i] = got[i].Replicas
	}
	if !slices.Equal(w, g) {
		return fmt.Errorf("stored recommendations %v, upstream expects %v", g, w)
	}
	return nil
}
