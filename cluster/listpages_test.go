package cluster

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestListReduced: the first LIST asked page by page and reduced as it
// comes gives the informer, once transformed, exactly the entries the
// whole list would have, for more objects than a page holds.
func TestListReduced(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(bed.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paged"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = listPageSize + 37
	for i := range n {
		labels := map[string]string{"app": fmt.Sprint("w", i)}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("w", i), Namespace: "paged",
				Annotations: map[string]string{"scaleguard.io/exempt": "cost-ceiling", "other": "dropped"}},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(i % 7)), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1", Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(fmt.Sprint(i+1, "m"))}}}}}}},
		}
		if _, err := cs.AppsV1().Deployments("paged").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lw := toolscache.NewListWatchFromClient(cs.AppsV1().RESTClient(), deployments, corev1.NamespaceAll, fields.Everything())
	var pages int
	whole := lw.ListWithContextFunc
	counting := func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		pages++
		return whole(ctx, o)
	}
	got, err := listReduced(deployments, counting)(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := whole(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 2 {
		t.Errorf("%d pages for %d objects, want 2", pages, n)
	}
	gl, wl := got.(*appsv1.DeploymentList), want.(*appsv1.DeploymentList)
	if gl.Continue != "" || gl.ResourceVersion == "" {
		t.Errorf("list metadata %+v: want a resourceVersion and no continue token", gl.ListMeta)
	}
	if len(gl.Items) != len(wl.Items) || len(gl.Items) != n {
		t.Fatalf("%d objects paged, %d listed whole, want %d", len(gl.Items), len(wl.Items), n)
	}
	for i := range gl.Items {
		a, err := transform(&gl.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := transform(&wl.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: paged and reduced keeps %+v, the whole list %+v", wl.Items[i].Name, a, b)
		}
	}

	// HPAs too: what the view keeps of one decodes to an HPA that keeps
	// the same again.
	for i := range 3 {
		h := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("h", i), Namespace: "paged"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: fmt.Sprint("w", i)},
				MinReplicas:    ptr.To(int32(2)), MaxReplicas: 5,
			},
		}
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers("paged").Create(ctx, h, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hlw := toolscache.NewListWatchFromClient(cs.AutoscalingV2().RESTClient(), hpas, corev1.NamespaceAll, fields.Everything())
	gotH, err := listReduced(hpas, hlw.ListWithContextFunc)(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	wantH, err := hlw.ListWithContextFunc(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gh, wh := gotH.(*autoscalingv2.HorizontalPodAutoscalerList), wantH.(*autoscalingv2.HorizontalPodAutoscalerList)
	if len(gh.Items) != 3 || len(wh.Items) != 3 {
		t.Fatalf("%d HPAs paged, %d whole, want 3", len(gh.Items), len(wh.Items))
	}
	for i := range gh.Items {
		a, _ := transform(&gh.Items[i])
		b, _ := transform(&wh.Items[i])
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: paged and reduced keeps %+v, the whole list %+v", wh.Items[i].Name, a, b)
		}
	}
}
