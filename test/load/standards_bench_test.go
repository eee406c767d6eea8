package load

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/standards"
)

type staticFallback struct{ s *policies.Settings }

func (f staticFallback) Current() *policies.Settings { return f.s }

// BenchmarkMixStandards is BenchmarkMix's scaleguard set with the settings
// read as serve reads them: from the scaleguard.io standards, here a
// default ClusterScalingStandard with the built-in standard's settings
// and a ScalingStandard in each of 50 other namespaces. Compared with
// BenchmarkMix/scaleguard it is the cost of resolving each review's
// effective standard.
func BenchmarkMixStandards(b *testing.B) {
	defaults := policies.Defaults()
	store := standards.NewStore(staticFallback{&defaults}, nil)
	var overrides []v1alpha1.ScalingStandard
	for i := range 50 {
		overrides = append(overrides, v1alpha1.ScalingStandard{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("team-%d", i), Name: "team", Generation: 1},
			Spec:       v1alpha1.ScalingStandardSpec{MinReplicas: ptr.To[int32](3)},
		})
	}
	cs, _ := store.Update([]v1alpha1.ClusterScalingStandard{{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultName, Generation: 1}}}, overrides)
	if c := cs[v1alpha1.DefaultName].Conditions; len(c) == 0 || c[0].Status != metav1.ConditionTrue {
		b.Fatalf("the default standard is not valid: %+v", c)
	}
	mux := ScaleguardHandlers(store)
	for _, r := range mix(b) {
		b.Run("scaleguard/"+r.Name, func(b *testing.B) {
			serve := func() *httptest.ResponseRecorder { return serveReview(mux, r) }
			if err := r.Check(serve().Body.Bytes()); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(r.Size()))
			b.ReportAllocs()
			for b.Loop() {
				if rec := serve(); rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d", rec.Code)
				}
			}
		})
	}
}
