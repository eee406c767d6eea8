package celpolicy

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// With two standards (minimum 2 and 3), an HPA at 2 replicas is sent to the
// mutator: the second standard would patch it.
func TestMatchConditionsOfAllIsTheUnion(t *testing.T) {
	two, three := policies.Defaults(), policies.Defaults()
	for _, s := range []*policies.Settings{&two, &three} {
		s.Rules.MemoryTarget.Action = policies.Off
		s.Rules.BehaviorDefaults.Action = policies.Off
	}
	three.Rules.MinReplicas.Minimum = 3
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10},
	}
	create := call{op: admission.Create, obj: hpa}
	if create.matches(t, matcher(t, HPAMutate, &two)) {
		t.Fatal("an HPA at the minimum is sent under the standard of 2")
	}
	if !create.matches(t, matcherOf(t, HPAMutate, MatchConditionsOfAll(HPAMutate, []*policies.Settings{&two, &three}))) {
		t.Error("the union skips an HPA that the standard of 3 patches")
	}
	if got := MatchConditionsOfAll(HPAMutate, []*policies.Settings{&two, &two}); !equalConditions(got, MatchConditions(HPAMutate, &two)) {
		t.Error("the same standard twice is not the standard's own conditions")
	}
	many := []*policies.Settings{}
	for i := range maxUnion + 1 {
		s := policies.Defaults()
		s.Rules.MinReplicas.Minimum = int32(2 + i)
		many = append(many, &s)
	}
	conds := MatchConditionsOfAll(HPAMutate, many)
	if e := conds[len(conds)-1].Expression; e != "true" {
		t.Errorf("%d distinct standards: %s, want every write sent", len(many), e)
	}
}

func equalConditions(a, b []admissionregistrationv1.MatchCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
