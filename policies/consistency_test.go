package policies

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestBehaviorConsistency(t *testing.T) {
	disabled := autoscalingv2.DisabledPolicySelect
	tests := map[string]struct {
		edit func(*autoscalingv2.HorizontalPodAutoscaler)
		// want is "action path" per finding; mention substrings of messages.
		want    []string
		mention []string
	}{
		"the standard is consistent": {edit: func(*autoscalingv2.HorizontalPodAutoscaler) {}},
		"scale-up Disabled is refused": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Behavior.ScaleUp.SelectPolicy = &disabled },
			want: []string{"deny spec.behavior.scaleUp.selectPolicy"}, mention: []string{"never scale up", "set selectPolicy: Max or Min"},
		},
		"scale-down Disabled is refused": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Behavior.ScaleDown.SelectPolicy = &disabled },
			want: []string{"deny spec.behavior.scaleDown.selectPolicy"}, mention: []string{"never scale down"},
		},
		"Percent-only scale-up from zero is refused": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MinReplicas = ptr.To[int32](0)
				h.Spec.Behavior.ScaleUp.Policies = h.Spec.Behavior.ScaleUp.Policies[:1]
			},
			want: []string{"deny spec.behavior.scaleUp.policies"}, mention: []string{"never scales up from 0; add a Pods policy or set minReplicas to at least 1"},
		},
		"a scale-down tolerance of 1 can never be left": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse("1"))
			},
			want: []string{"deny spec.behavior.scaleDown.tolerance"},
		},
		"slow scale-up warns with the computed time": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MaxReplicas = 40
				h.Spec.Behavior.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 120}}
			},
			// 2 → 40 at one pod per 120 s: the first step is immediate, 37 more follow.
			want: []string{"warn spec.behavior.scaleUp"}, mention: []string{"from 2 to 40 replicas takes at least 1h14m0s, over the 5m0s allowed"},
		},
		"slow scale-down warns": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MaxReplicas = 100
				h.Spec.Behavior.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}
			},
			want: []string{"warn spec.behavior.scaleDown"}, mention: []string{"scaling down from 100 to 2 replicas"},
		},
		"inverted windows warn": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior.ScaleUp.StabilizationWindowSeconds = ptr.To[int32](120)
				h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = ptr.To[int32](60)
			},
			want: []string{"warn spec.behavior.scaleUp.stabilizationWindowSeconds"}, mention: []string{"scale-up waits 120s but scale-down only 60s"},
		},
		"min equal to max warns": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 2 },
			want: []string{"warn spec.maxReplicas"}, mention: []string{"can never scale"},
		},
		"max below min is left to the API server": {
			edit: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MinReplicas = ptr.To[int32](5)
				h.Spec.MaxReplicas = 3
			},
		},
	}
	s := Defaults()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := hpa()
			tc.edit(h)
			got := behaviorConsistency(h, s.Rules.BehaviorConsistency, hpaFields)
			assertFindingsMention(t, got, tc.want, tc.mention)
		})
	}
}

func TestBehaviorConsistencyBoundsAreSettings(t *testing.T) {
	h := hpa(withMax(40))
	h.Spec.Behavior.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 120}}
	s := Defaults().Rules.BehaviorConsistency
	s.MaxScaleUpSeconds = 2 * 3600
	if got := behaviorConsistency(h, s, hpaFields); len(got) != 0 {
		t.Fatalf("74 minutes is within a 2 h bound, got %v", got)
	}
}

func assertFindingsMention(t *testing.T, got Findings, want, mention []string) {
	t.Helper()
	assertFindings(t, got, want, mention)
	for _, f := range got {
		if len(f.Message) > 300 {
			t.Errorf("message too long for a kubectl warning (%d chars): %s", len(f.Message), f.Message)
		}
		if strings.TrimSpace(f.Message) == "" {
			t.Errorf("%s has no message", f.Path)
		}
	}
}
