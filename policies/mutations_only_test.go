package policies

import (
	"reflect"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// lookups records which Cluster methods a review called.
type lookups struct {
	Cluster
	called map[string]int
}

func (l *lookups) Workload(ns, kind, name string) (*Workload, error) {
	l.called["Workload"]++
	return l.Cluster.Workload(ns, kind, name)
}

func (l *lookups) WorkloadPods(ns string) ([]WorkloadPods, error) {
	l.called["WorkloadPods"]++
	return l.Cluster.WorkloadPods(ns)
}

func (l *lookups) HPAsFor(ns, kind, name string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	l.called["HPAsFor"]++
	return l.Cluster.HPAsFor(ns, kind, name)
}

// TestMutationsOnly: the mutating webhook's evaluation makes the same
// object and the same Mutate findings as the whole one, and reads no
// workload or other HPA of the cluster.
func TestMutationsOnly(t *testing.T) {
	s := Defaults()
	bare := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: KindDeployment, Name: "web"},
			MaxReplicas:    5,
		},
	}
	contradicting := bare.DeepCopy()
	contradicting.Spec.MinReplicas = ptr.To[int32](1)
	contradicting.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)},
	}
	for name, hpa := range map[string]*autoscalingv2.HorizontalPodAutoscaler{"bare": bare, "contradicting": contradicting} {
		t.Run(name, func(t *testing.T) {
			whole := EvaluateHPA(HPAReview{Object: hpa, Cluster: &lookups{Cluster: NewStaticCluster(), called: map[string]int{}}}, &s)
			l := &lookups{Cluster: NewStaticCluster(), called: map[string]int{}}
			only := EvaluateHPA(HPAReview{Object: hpa, Cluster: l, MutationsOnly: true}, &s)
			if !whole.Mutated || !only.Mutated || !reflect.DeepEqual(whole.Object, only.Object) {
				t.Errorf("mutations only: mutated %v, %+v\nwhole: mutated %v, %+v", only.Mutated, only.Object.Spec, whole.Mutated, whole.Object.Spec)
			}
			if !reflect.DeepEqual(whole.Findings.With(Mutate), only.Findings.With(Mutate)) {
				t.Errorf("Mutate findings: %v\nwhole: %v", only.Findings.With(Mutate), whole.Findings.With(Mutate))
			}
			if len(only.Findings.With(Mutate)) == 0 || len(whole.Findings) <= len(whole.Findings.With(Mutate)) {
				t.Fatalf("the case proves nothing: whole %v", whole.Findings)
			}
			if len(l.called) != 0 {
				t.Errorf("mutations only read the cluster: %v", l.called)
			}
		})
	}
}
