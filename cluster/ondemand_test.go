package cluster_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/cluster"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// startView runs a view of o until the test ends, once it has synced.
func startView(t *testing.T, o cluster.Options) *cluster.View {
	t.Helper()
	v, err := cluster.New(o)
	if err != nil {
		t.Fatal(err)
	}
	runView(t, v)
	return v
}

// runView starts v, stops it when the test ends, and returns once it has
// synced.
func runView(t *testing.T, v *cluster.View) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Start(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("view stopped with %v", err)
		}
	})
	eventually(t, func() error {
		if !v.Synced() {
			return errors.New("not synced")
		}
		return nil
	})
}

// watches is the number of WATCH requests the API server is serving for
// resource, from its own apiserver_longrunning_requests gauge.
func watches(t *testing.T, bed *testbed.Testbed, resource string) int {
	t.Helper()
	raw, err := bed.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.HasPrefix(line, "apiserver_longrunning_requests{") && strings.Contains(line, `resource="`+resource+`"`) &&
			strings.Contains(line, `verb="WATCH"`) && !strings.HasSuffix(line, " 0") {
			n++
		}
	}
	return n
}

// TestWorkloadsOnDemand: a view with WorkloadsOnDemand opens no watch of
// Deployments or StatefulSets, answers every workload lookup and the
// reader with exactly what a watching view answers, and answers a change
// at once, where a watching view answers it once its watch event arrives.
func TestWorkloadsOnDemand(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	c := bed.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	web := deployment("shop", "web")
	db := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Selector: web.Spec.Selector.DeepCopy(), Template: *web.Spec.Template.DeepCopy()},
	}
	db.Spec.Selector.MatchLabels = map[string]string{"app": "db"}
	db.Spec.Template.Labels = map[string]string{"app": "db"}
	for _, o := range []client.Object{web, db, hpa("shop", "web", "web")} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	before := watches(t, bed, "deployments")
	onDemand := startView(t, cluster.Options{Config: bed.Config, WorkloadsOnDemand: true, Log: testr.New(t)})
	if got := watches(t, bed, "deployments"); got != before {
		t.Errorf("the on-demand view opened a watch of Deployments (%d → %d)", before, got)
	}
	watching := startView(t, cluster.Options{Config: bed.Config, Log: testr.New(t)})
	if got := watches(t, bed, "deployments"); got <= before {
		t.Fatalf("the watching view's Deployment watch is not counted (%d → %d): the check above proves nothing", before, got)
	}

	same := func(what string, get func(v *cluster.View) (any, error)) {
		t.Helper()
		a, errA := get(onDemand)
		b, errB := get(watching)
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: on demand %+v, %v\nwatching %+v, %v", what, a, errA, b, errB)
		}
	}
	same("Workload", func(v *cluster.View) (any, error) { return v.Workload("shop", "Deployment", "web") })
	same("Workload of a StatefulSet", func(v *cluster.View) (any, error) { return v.Workload("shop", "StatefulSet", "db") })
	same("a missing Workload", func(v *cluster.View) (any, error) { return v.Workload("shop", "Deployment", "ghost") })
	same("WorkloadPods", func(v *cluster.View) (any, error) { return v.WorkloadPods("shop") })
	same("the audit's workloads", func(v *cluster.View) (any, error) { return v.AuditSource().Workloads(ctx, "shop", nil) })

	// A change is read at once.
	web.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("250m")
	if err := c.Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	w, err := onDemand.Workload("shop", "Deployment", "web")
	if err != nil || w.Template.Spec.Containers[0].Resources.Requests.Cpu().String() != "250m" {
		t.Errorf("right after an update: %+v, %v; want the new request", w, err)
	}
}
