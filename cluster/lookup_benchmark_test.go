package cluster

import (
	"fmt"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// BenchmarkHPAsFor is the cost of finding a workload's HPAs without an
// index by scale target: a scan of one namespace's HPAs, here 1,000 of
// them, and the decoding of the one that matches.
func BenchmarkHPAsFor(b *testing.B) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc,
		toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	for i := range 1000 {
		name := fmt.Sprintf("svc-%04d", i)
		e, err := transform(&autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
				MinReplicas:    ptr.To[int32](2), MaxReplicas: 10,
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := idx.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := hpasFor(idx, "shop", "Deployment", "svc-0500")
		if err != nil || len(got) != 1 {
			b.Fatalf("%v, %v", got, err)
		}
	}
}
