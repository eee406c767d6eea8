package standards

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// BenchmarkFor is what resolving a namespace's standard adds to a review:
// a default standard, a selecting one, and 200 namespaces with a
// ScalingStandard each; namespace labels from a map, as the cluster view
// answers them.
func BenchmarkFor(b *testing.B) {
	builtin := policies.Defaults()
	labels := map[string]map[string]string{}
	var overrides []v1alpha1.ScalingStandard
	for i := range 200 {
		ns := fmt.Sprintf("team-%d", i)
		labels[ns] = map[string]string{"tier": fmt.Sprint(i % 3)}
		overrides = append(overrides, v1alpha1.ScalingStandard{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team"},
			Spec: v1alpha1.ScalingStandardSpec{MinReplicas: ptr.To[int32](3)}})
	}
	store := NewStore(&fixedFallback{&builtin}, func(ns string) (map[string]string, error) { return labels[ns], nil })
	batch := v1alpha1.ClusterScalingStandard{ObjectMeta: metav1.ObjectMeta{Name: "batch"}}
	batch.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "2"}}
	store.Update([]v1alpha1.ClusterScalingStandard{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, batch}, overrides)
	for name, ns := range map[string]string{"with-override": "team-7", "without": "other"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if store.For(ns) == nil {
					b.Fatal("no settings")
				}
			}
		})
	}
}
