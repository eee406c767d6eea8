package oracle

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	autoscalingdefaults "k8s.io/kubernetes/pkg/apis/autoscaling/v2"
	"k8s.io/kubernetes/pkg/controller/podautoscaler"
	metricsclient "k8s.io/kubernetes/pkg/controller/podautoscaler/metrics"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

// The controller's flags as kube-controller-manager ships them, the ones
// scaleguard's built-in settings assume.
const (
	upstreamDownscaleWindow = 5 * time.Minute
	upstreamTolerance       = 0.1
	// --horizontal-pod-autoscaler-cpu-initialization-period and
	// --horizontal-pod-autoscaler-initial-readiness-delay; the fake pods
	// started long before, so neither applies.
	upstreamCPUInitialization = 5 * time.Minute
	upstreamReadinessDelay    = 30 * time.Second
)

const (
	oracleNamespace = "default"
	oracleTarget    = "web"
	oracleSelector  = "app=web"
)

// replayUpstream runs c through the real HPA controller
// (podautoscaler.NewHorizontalController and its Run loop, unmodified) over
// fake clients, inside a synctest bubble: the controller's own workqueue
// schedules one sync every 15 s of the bubble's fake clock, which passes
// instantly. It returns what each sync saw and decided.
func replayUpstream(t *testing.T, c Case) (out []UpstreamSync, err error) {
	synctest.Test(t, func(t *testing.T) {
		out, err = runUpstreamBubble(c)
	})
	return out, err
}

// cluster is the fake world the controller acts on: a Deployment's scale,
// its ready pods, their resource metrics, and the HPA.
type cluster struct {
	c       Case
	kube    *kubefake.Clientset
	hpa     *autoscalingv2.HorizontalPodAutoscaler
	started time.Time // the bubble's start, long after the pods started

	mu       sync.Mutex
	replicas int32
	syncs    []UpstreamSync
	first    time.Time
	proposal *int32 // the metric proposal the current sync logged
	done     chan struct{}
	fail     error
}

func runUpstreamBubble(c Case) ([]UpstreamSync, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	hpa := c.HPA.DeepCopy()
	hpa.Namespace = oracleNamespace
	// What the API server stores: upstream's own defaulting, not
	// scaleguard's, so the defaults are compared as well.
	autoscalingdefaults.SetObjectDefaults_HorizontalPodAutoscaler(hpa)

	w := &cluster{c: c, hpa: hpa, started: time.Now(), replicas: c.InitialReplicas, done: make(chan struct{})}
	w.kube = kubefake.NewClientset(hpa)
	for i := range c.InitialReplicas {
		if _, err := w.kube.CoreV1().Pods(oracleNamespace).Create(ctx, w.pod(i), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}

	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", w.getScale)
	scales.AddReactor("update", "deployments", w.updateScale)
	metrics := metricsfake.NewSimpleClientset()
	metrics.PrependReactor("list", "pods", w.listPodMetrics)

	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{appsv1.SchemeGroupVersion})
	mapper.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)

	factory := informers.NewSharedInformerFactory(w.kube, 0)
	logger := logr.New(&proposalSink{w: w})
	ctx = klog.NewContext(ctx, logger)
	controller := podautoscaler.NewHorizontalController(ctx,
		w.kube.CoreV1(), scales, w.kube.AutoscalingV2(), mapper,
		metricsclient.NewRESTMetricsClient(metrics.MetricsV1beta1(), nil, nil),
		factory.Autoscaling().V2().HorizontalPodAutoscalers(), factory.Core().V1().Pods(),
		SyncPeriodSeconds*time.Second, upstreamDownscaleWindow, upstreamTolerance,
		upstreamCPUInitialization, upstreamReadinessDelay)
	factory.Start(ctx.Done())
	var running sync.WaitGroup
	running.Go(func() { controller.Run(ctx, 1) })

	syncs := c.Trace.Syncs()
	var err error
	select {
	case <-w.done:
	case <-time.After(time.Duration(syncs+4) * SyncPeriodSeconds * time.Second):
		err = fmt.Errorf("the controller ran %d of %d syncs in %d s of its clock", len(w.syncs), syncs, (syncs+4)*SyncPeriodSeconds)
	}
	cancel()
	running.Wait()
	factory.Shutdown()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		err = w.fail
	}
	return w.syncs, err
}

// pod is the i-th ready pod of the target, requesting one CPU and 1 G of
// memory, so that a usage of u milli-units per request unit reads exactly.
func (w *cluster) pod(i int32) *corev1.Pod {
	longAgo := metav1.NewTime(w.started.Add(-time.Hour))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName(i), Namespace: oracleNamespace, Labels: map[string]string{"app": oracleTarget}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1"),
				corev1.ResourceMemory: resource.MustParse("1G"),
			}},
		}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			StartTime:  &longAgo,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: longAgo}},
		},
	}
}

func podName(i int32) string { return fmt.Sprintf("%s-%d", oracleTarget, i) }

// requestMilli is what the pods request of each resource, in the
// milli-units the controller sums (calculatePodRequests).
func requestMilli(name corev1.ResourceName) int64 {
	q := resource.MustParse("1")
	if name == corev1.ResourceMemory {
		q = resource.MustParse("1G")
	}
	return q.MilliValue()
}

// getScale starts a sync: the controller reads the scale first. The
// previous sync is complete by now, so its outcome is read here.
func (w *cluster) getScale(clienttesting.Action) (bool, runtime.Object, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if n := len(w.syncs); n > 0 {
		w.finishSync(&w.syncs[n-1])
	}
	if len(w.syncs) == 0 {
		w.first = now
	}
	if len(w.syncs) == w.c.Trace.Syncs() {
		select {
		case <-w.done:
		default:
			close(w.done)
		}
	} else {
		at := now.Sub(w.first)
		if want := time.Duration(len(w.syncs)) * SyncPeriodSeconds * time.Second; at != want && w.fail == nil {
			w.fail = fmt.Errorf("sync %d ran %s after the first, not %s", len(w.syncs), at, want)
		}
		w.syncs = append(w.syncs, UpstreamSync{At: at, Current: w.replicas, Replicas: w.replicas})
		w.proposal = nil
	}
	return true, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: oracleTarget, Namespace: oracleNamespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: w.replicas},
		Status:     autoscalingv1.ScaleStatus{Replicas: w.replicas, Selector: oracleSelector},
	}, nil
}

// finishSync reads what the controller wrote in the HPA's status and what
// it logged.
func (w *cluster) finishSync(s *UpstreamSync) {
	s.Replicas = w.replicas
	if w.proposal != nil {
		s.MetricReplicas, s.MetricLogged = *w.proposal, true
	}
	hpa, err := w.kube.AutoscalingV2().HorizontalPodAutoscalers(oracleNamespace).Get(context.Background(), w.hpa.Name, metav1.GetOptions{})
	if err != nil {
		w.fail = err
		return
	}
	for _, cond := range hpa.Status.Conditions {
		switch cond.Type {
		case autoscalingv2.AbleToScale:
			s.AbleToScale = cond.Reason
		case autoscalingv2.ScalingLimited:
			s.ScalingLimited, s.Limited = cond.Reason, cond.Status == corev1.ConditionTrue
		case autoscalingv2.ScalingActive:
			s.ScalingActive = cond.Reason
		}
	}
	s.Utilization = make([]int32, len(w.c.Trace.Columns))
	for i, col := range w.c.Trace.Columns {
		s.Utilization[i] = -1
		for _, m := range hpa.Status.CurrentMetrics {
			if m.Resource != nil && string(m.Resource.Name) == col && m.Resource.Current.AverageUtilization != nil {
				s.Utilization[i] = *m.Resource.Current.AverageUtilization
			}
		}
	}
}

// updateScale is the controller's rescale: the Deployment then has that
// many ready pods by the next sync.
func (w *cluster) updateScale(a clienttesting.Action) (bool, runtime.Object, error) {
	scale := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
	w.mu.Lock()
	from, to := w.replicas, scale.Spec.Replicas
	w.replicas = to
	w.mu.Unlock()
	ctx := context.Background()
	for i := from; i < to; i++ {
		if _, err := w.kube.CoreV1().Pods(oracleNamespace).Create(ctx, w.pod(i), metav1.CreateOptions{}); err != nil {
			return true, nil, err
		}
	}
	for i := to; i < from; i++ {
		if err := w.kube.CoreV1().Pods(oracleNamespace).Delete(ctx, podName(i), metav1.DeleteOptions{}); err != nil {
			return true, nil, err
		}
	}
	return true, scale, nil
}

// listPodMetrics serves the resource metrics API: the trace's sample in
// force at this sync, as the total usage of the pods. A utilization of u %
// measured at m replicas is a load of u × m % of one pod's request; closed
// loop, that load is spread over the pods there are now (the remainder on
// the first ones), open loop each pod reads u %. The controller divides the
// sum by the requests itself (GetResourceUtilizationRatio).
func (w *cluster) listPodMetrics(clienttesting.Action) (bool, runtime.Object, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.replicas
	sample := w.c.Trace.At(int(w.syncs[len(w.syncs)-1].At / time.Second))
	list := &metricsv1beta1.PodMetricsList{}
	now := metav1.NewTime(time.Now())
	for i := range n {
		pm := metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: podName(i), Namespace: oracleNamespace, Labels: map[string]string{"app": oracleTarget}},
			Timestamp:  now,
			Window:     metav1.Duration{Duration: 30 * time.Second},
		}
		usage := corev1.ResourceList{}
		for col, name := range w.c.Trace.Columns {
			rn := corev1.ResourceName(name)
			// tenths of a percent of a request: request × tenths / 1000.
			total := requestMilli(rn) / 1000 * sample.Tenths[col] * int64(w.c.measuredAt())
			if w.c.OpenLoop {
				total = requestMilli(rn) / 1000 * sample.Tenths[col] * int64(n)
			}
			share := total / int64(n)
			if int64(i) < total%int64(n) {
				share++
			}
			usage[rn] = *resource.NewMilliQuantity(share, resource.DecimalSI)
		}
		pm.Containers = []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: usage}}
		list.Items = append(list.Items, pm)
	}
	return true, list, nil
}

// proposalSink keeps the one log line of a sync that carries the metrics'
// proposal before normalization ("Proposing desired replicas", V(4) in
// reconcileAutoscaler) and drops everything else.
type proposalSink struct{ w *cluster }

func (s *proposalSink) Init(logr.RuntimeInfo)  {}
func (s *proposalSink) Enabled(level int) bool { return level <= 4 }
func (s *proposalSink) Info(_ int, msg string, kv ...any) {
	if msg != "Proposing desired replicas" {
		return
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "desiredReplicas" {
			if v, ok := kv[i+1].(int32); ok {
				s.w.mu.Lock()
				s.w.proposal = &v
				s.w.mu.Unlock()
			}
		}
	}
}
func (s *proposalSink) Error(error, string, ...any)    {}
func (s *proposalSink) WithValues(...any) logr.LogSink { return s }
func (s *proposalSink) WithName(string) logr.LogSink   { return s }
