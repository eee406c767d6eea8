package cluster

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

func TestDirectWorkloads(t *testing.T) {
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "example.com/app:1",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
	}}}}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: "7",
		Annotations: map[string]string{"scaleguard.io/exempt": "cost-ceiling", "team": "shop"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: template}}
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Template: template}}
	// What the informer would hold of each: a direct answer must be the same.
	cached := func(obj runtime.Object) *entry {
		t.Helper()
		e, err := transform(obj.DeepCopyObject())
		if err != nil {
			t.Fatal(err)
		}
		return e.(*entry)
	}
	tests := map[string]struct {
		resource, name string
		down           bool
		want           *entry
		wantErr        error
		result         string
	}{
		"a Deployment the informer has not seen": {resource: deployments, name: "web", want: cached(web), result: directFound},
		"a StatefulSet":                          {resource: statefulSets, name: "db", want: cached(db), result: directFound},
		"none in the API server either":          {resource: deployments, name: "ghost", result: directNotFound},
		"the API server does not answer":         {resource: deployments, name: "web", down: true, wantErr: policies.ErrUnknown, result: directError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(web.DeepCopy(), db.DeepCopy())
			cs.PrependReactor("get", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
				if tc.down {
					return true, nil, errors.New("connection refused")
				}
				return false, nil, nil
			})
			d := &directWorkloads{client: cs.AppsV1(), calls: &liveCalls{now: time.Now}, lookups: newDirectLookups()}
			got, err := d.get(tc.resource, "shop", tc.name)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr != nil && err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v, as the informer holds it", got, tc.want)
			}
			if n := testutil.ToFloat64(d.lookups.WithLabelValues(tc.resource, tc.result)); n != 1 {
				t.Errorf("%s{resource=%q,result=%q} = %g, want 1", "scaleguard_cluster_view_direct_lookups_total", tc.resource, tc.result, n)
			}
			if n := testutil.CollectAndCount(d.lookups); n != 6 {
				t.Errorf("%d series, want one per resource and result", n)
			}
		})
	}
}

// TestDirectWorkloadsBackoff: after a failed lookup none is tried, nor
// counted, for liveBackoff.
func TestDirectWorkloadsBackoff(t *testing.T) {
	cs := fake.NewClientset()
	calls := 0
	cs.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		return true, nil, errors.New("connection refused")
	})
	now := time.Unix(1000, 0)
	d := &directWorkloads{client: cs.AppsV1(), calls: &liveCalls{now: func() time.Time { return now }}, lookups: newDirectLookups()}
	for range 3 {
		if _, err := d.get(deployments, "shop", "web"); !errors.Is(err, policies.ErrUnknown) {
			t.Fatalf("%v, want ErrUnknown", err)
		}
	}
	if n := testutil.ToFloat64(d.lookups.WithLabelValues(deployments, directError)); calls != 1 || n != 1 {
		t.Errorf("%d calls, %g counted within the backoff, want 1 and 1", calls, n)
	}
	now = now.Add(liveBackoff)
	if _, err := d.get(deployments, "shop", "web"); !errors.Is(err, policies.ErrUnknown) || calls != 2 {
		t.Errorf("after the backoff: %v after %d calls, want a second call", err, calls)
	}
}
