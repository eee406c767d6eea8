package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/cluster"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			},
		},
	}
}

func hpa(ns, name, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MaxReplicas:    5,
		},
	}
}

// eventually retries f for up to 20 s.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	harness.Eventually(t, 20*time.Second, "condition", f)
}

// TestView runs the view against a real API server: what it answers before
// its caches sync, then each lookup, its index, its transforms and its
// leader election.
func TestView(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	c := bed.Client
	for _, ns := range []string{"shop", "other"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range []client.Object{
		deployment("shop", "web"),
		hpa("shop", "web", "web"), hpa("shop", "unrelated", "api"), hpa("other", "web", "web"),
		&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "shop"},
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
				DefaultRequest: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	v, err := cluster.New(cluster.Options{Config: bed.Config, LeaderElection: true, LeaderElectionNamespace: "default", Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Workload("shop", "Deployment", "web"); !errors.Is(err, policies.ErrUnknown) {
		t.Errorf("before the caches sync: %v, want ErrUnknown", err)
	}
	// LimitRanges alone are asked of the API server meanwhile.
	if lrs, err := v.LimitRanges("shop"); err != nil || len(lrs) != 1 {
		t.Errorf("LimitRanges before the caches sync: %v, %v", lrs, err)
	}
	if _, err := v.Scalable("argoproj.io/v1alpha1", "Rollout"); !errors.Is(err, policies.ErrUnknown) {
		t.Errorf("Scalable before the view starts: %v, want ErrUnknown", err)
	}
	runView(t, v)

	t.Run("workloads", func(t *testing.T) {
		w, err := v.Workload("shop", "Deployment", "web")
		if err != nil || w == nil {
			t.Fatalf("Workload: %v, %v", w, err)
		}
		if *w.Replicas != 3 || w.Template.Spec.Containers[0].Resources.Requests.Cpu().String() != "100m" {
			t.Errorf("workload %+v", w)
		}
		if w, err := v.Workload("shop", "StatefulSet", "web"); w != nil || err != nil {
			t.Errorf("a missing StatefulSet: %v, %v", w, err)
		}
	})
	t.Run("HPAs by target, per namespace", func(t *testing.T) {
		got, err := v.HPAsFor("shop", "Deployment", "web")
		if err != nil || len(got) != 1 || got[0].Name != "web" || got[0].Namespace != "shop" {
			t.Errorf("HPAsFor: %v, %v", got, err)
		}
		if got, err := v.HPAsFor("other", "Deployment", "web"); err != nil || len(got) != 1 || got[0].Namespace != "other" {
			t.Errorf("HPAsFor in another namespace: %v, %v", got, err)
		}
		if err := c.Create(ctx, hpa("shop", "web-memory", "web")); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			if got, _ := v.HPAsFor("shop", "Deployment", "web"); len(got) != 2 {
				return fmt.Errorf("%d HPAs, want 2 after a create", len(got))
			}
			return nil
		})
	})
	t.Run("LimitRanges", func(t *testing.T) {
		lrs, err := v.LimitRanges("shop")
		if err != nil || len(lrs) != 1 {
			t.Errorf("LimitRanges: %v, %v", lrs, err)
		}
		if lrs, _ := v.LimitRanges("other"); len(lrs) != 0 {
			t.Errorf("LimitRanges of another namespace: %v", lrs)
		}
	})
	t.Run("metrics APIs", func(t *testing.T) {
		// Built-in groups are local APIServices, always Available; the
		// test bed has no metrics-server.
		if ok, err := v.MetricsAPIAvailable("apps"); !ok || err != nil {
			t.Errorf("apps: %v, %v", ok, err)
		}
		if ok, err := v.MetricsAPIAvailable("metrics.k8s.io"); ok || err != nil {
			t.Errorf("metrics.k8s.io without metrics-server: %v, %v", ok, err)
		}
		// Registered but not Available: its Service has no endpoints.
		svc := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"},
			"spec": map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": int64(100),
				"versionPriority": int64(100), "insecureSkipTLSVerify": true,
				"service": map[string]any{"name": "metrics-server", "namespace": "kube-system"}},
		}}
		if err := c.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(ctx, svc) })
		eventually(t, func() error {
			if !v.HoldsAPIService("v1beta1.metrics.k8s.io") {
				return errors.New("the APIService is not in the cache yet")
			}
			return nil
		})
		if ok, err := v.MetricsAPIAvailable("metrics.k8s.io"); ok || err != nil {
			t.Errorf("metrics.k8s.io registered without endpoints: %v, %v", ok, err)
		}
	})
	t.Run("scale subresources through discovery", func(t *testing.T) {
		for kind, want := range map[string]bool{"Deployment": true, "DaemonSet": false} {
			if ok, err := v.Scalable("apps/v1", kind); ok != want || err != nil {
				t.Errorf("%s: %v, %v", kind, ok, err)
			}
		}
		if _, err := v.Scalable("argoproj.io/v1alpha1", "Rollout"); err == nil || !strings.Contains(err.Error(), "argoproj.io/v1alpha1") {
			t.Errorf("a group the server does not serve: %v", err)
		}
	})
	t.Run("the audit reads the reduced objects", func(t *testing.T) {
		src := v.AuditSource()
		if !src.Synced() || src.Cluster() != v {
			t.Errorf("the audit's source: synced %v, cluster %v; want the synced view itself", src.Synced(), src.Cluster())
		}
		ws, err := src.Workloads(ctx, "shop", nil)
		if err != nil || len(ws) != 1 {
			t.Fatalf("workloads of shop: %+v, %v", ws, err)
		}
		w := ws[0]
		if w.APIVersion != "apps/v1" || w.Workload.Kind != "Deployment" || w.Namespace != "shop" || w.Name != "web" || w.Err != nil {
			t.Errorf("workload %s %s %s/%s (%v), want apps/v1 Deployment shop/web", w.APIVersion, w.Workload.Kind, w.Namespace, w.Name, w.Err)
		}
		if tpl := w.Workload.Template; tpl.Spec.Containers[0].Image != "" || *w.Workload.Replicas != 3 ||
			w.Workload.Selector.String() != "app=web" || tpl.Labels["app"] != "web" ||
			tpl.Spec.Containers[0].Resources.Requests.Cpu().String() != "100m" {
			t.Errorf("the audit's Deployment keeps what no rule reads, or lost what they do: %+v", w.Workload)
		}
		hs, err := src.HPAs(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, h := range hs {
			names = append(names, h.Namespace+"/"+h.Name+"→"+h.Spec.ScaleTargetRef.Name)
		}
		if want := []string{"shop/unrelated→api", "shop/web→web", "shop/web-memory→web"}; !slices.Equal(names, want) {
			t.Errorf("HPAs in shop: %v, want %v", names, want)
		}
		// The same HPAs' targets, read without decoding them.
		targets, err := v.ScaleTargets("shop")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range targets {
			got = append(got, "shop/"+st.HPA+"→"+st.Kind+"/"+st.Name)
		}
		slices.Sort(got)
		if want := []string{"shop/unrelated→Deployment/api", "shop/web-memory→Deployment/web", "shop/web→Deployment/web"}; !slices.Equal(got, want) {
			t.Errorf("scale targets in shop: %v, want %v", got, want)
		}
		nss, err := src.Namespaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		labelled := map[string]string{}
		for _, ns := range nss {
			labelled[ns.Name] = ns.Labels["kubernetes.io/metadata.name"]
		}
		if labelled["shop"] != "shop" || labelled["other"] != "other" {
			t.Errorf("namespaces and their labels: %v", labelled)
		}
	})
	t.Run("a cache miss is looked up in the API server", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(v.Collectors()...)
		cached, err := v.Workload("shop", "Deployment", "web")
		if err != nil || cached == nil {
			t.Fatalf("cached: %v, %v", cached, err)
		}
		if err := v.Forget("deployments", "shop", "web"); err != nil {
			t.Fatal(err)
		}
		direct, err := v.Workload("shop", "Deployment", "web")
		if err != nil || !reflect.DeepEqual(direct, cached) {
			t.Errorf("looked up directly: %+v, %v\nwant what the cache held: %+v", direct, err, cached)
		}
		if w, err := v.Workload("shop", "Deployment", "ghost"); w != nil || err != nil {
			t.Errorf("a Deployment the API server has not either: %v, %v", w, err)
		}
		// One of each counted, besides the StatefulSet looked up above.
		want := `# HELP scaleguard_cluster_view_direct_lookups_total Workloads the cluster view's synced informer did not hold, looked up in the API server itself (an HPA applied together with its target), by resource and result (found, not_found, error).
# TYPE scaleguard_cluster_view_direct_lookups_total counter
scaleguard_cluster_view_direct_lookups_total{resource="deployments",result="error"} 0
scaleguard_cluster_view_direct_lookups_total{resource="deployments",result="found"} 1
scaleguard_cluster_view_direct_lookups_total{resource="deployments",result="not_found"} 1
scaleguard_cluster_view_direct_lookups_total{resource="statefulsets",result="error"} 0
scaleguard_cluster_view_direct_lookups_total{resource="statefulsets",result="found"} 0
scaleguard_cluster_view_direct_lookups_total{resource="statefulsets",result="not_found"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "scaleguard_cluster_view_direct_lookups_total"); err != nil {
			t.Error(err)
		}
	})
	t.Run("leader election", func(t *testing.T) {
		eventually(t, func() error {
			var lease coordinationv1.Lease
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.DefaultLeaderElectionID}, &lease); err != nil {
				return err
			}
			if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
				return errors.New("no holder")
			}
			return nil
		})
	})
}
