package audit

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
)

// memSource is a Source held in memory: the namespaces, the objects of
// each, a view of the cluster (nil for none) and whether it is synced.
type memSource struct {
	namespaces []corev1.Namespace
	objs       map[string]Objects
	cluster    policies.Cluster
	synced     atomic.Bool
}

func (m *memSource) Synced() bool              { return m.synced.Load() }
func (m *memSource) Cluster() policies.Cluster { return m.cluster }

func (m *memSource) Namespaces(context.Context) ([]corev1.Namespace, error) {
	return m.namespaces, nil
}

func (m *memSource) Workloads(_ context.Context, ns string, _ []policies.WorkloadKind) ([]Workload, error) {
	return m.objs[ns].Workloads, nil
}

func (m *memSource) HPAs(_ context.Context, ns string) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	return m.objs[ns].HPAs, nil
}

func (m *memSource) ScaledObjects(_ context.Context, ns string) ([]*policies.ScaledObject, error) {
	return m.objs[ns].ScaledObjects, nil
}

func (m *memSource) LimitRanges(_ context.Context, ns string) ([]corev1.LimitRange, error) {
	return m.objs[ns].LimitRanges, nil
}

// ReaderSource reads the objects of one namespace, custom kinds included:
// a kind the API server does not serve has none, and an object that cannot
// be read is handed over with the reason.
func TestReaderSource(t *testing.T) {
	var objs []client.Object
	for _, doc := range []string{
		`{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, namespace: shop}, spec: {replicas: 2}}`,
		`{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: bad, namespace: shop}, spec: {replicas: two}}`,
		`{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, namespace: blog}, spec: {replicas: 1}}`,
	} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	d, other, h := deployment("shop", "api"), deployment("blog", "api"), hpa("shop", "api", "api")
	objs = append(objs, &d, &other, &h)
	unserved := policies.WorkloadKind{APIGroup: "apps.kruise.io", Version: "v1alpha1", Kind: "CloneSet", Resource: "clonesets"}
	noMatch := func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if gvk := list.GetObjectKind().GroupVersionKind(); gvk.Group == unserved.APIGroup {
			return &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
		}
		return c.List(ctx, list, opts...)
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{List: noMatch}).Build()
	src := ReaderSource(c)

	ws, err := src.Workloads(t.Context(), "shop", []policies.WorkloadKind{rollouts, unserved})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		s := w.APIVersion + " " + w.Workload.Kind + " " + w.Namespace + "/" + w.Name
		if w.Err != nil {
			s += " unreadable"
		}
		got = append(got, s)
	}
	want := []string{"apps/v1 Deployment shop/api", "argoproj.io/v1alpha1 Rollout shop/bad unreadable", "argoproj.io/v1alpha1 Rollout shop/web"}
	if !slices.Equal(got, want) {
		t.Errorf("workloads of shop:\n got %q\nwant %q", got, want)
	}
	if hpas, err := src.HPAs(t.Context(), "shop"); err != nil || len(hpas) != 1 || hpas[0].Name != "api" {
		t.Errorf("HPAs of shop: %v, %v", hpas, err)
	}
	if src.Cluster() != nil || !src.Synced() {
		t.Error("a ReaderSource has no view of the cluster and is always current")
	}
}
