package certmanager_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// webhookCalls are API server requests that pass through scaleguard's
// webhooks, as dry runs so nothing is stored.
type webhookCalls struct {
	cs        kubernetes.Interface
	namespace string
}

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// hpa creates an HPA that scaleguard must patch. The mutating webhook fails
// open, so an answer without the patch is how its failure shows; the
// validating one fails closed and shows as an error.
func (c webhookCalls) hpa(ctx context.Context) error {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: c.namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    5,
		},
	}
	got, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(c.namespace).Create(ctx, hpa, dryRun)
	if err != nil {
		return err
	}
	if got.Spec.MinReplicas == nil || *got.Spec.MinReplicas != 2 {
		return fmt.Errorf("HPA not patched by the mutating webhook: minReplicas %v", ptr.Deref(got.Spec.MinReplicas, 0))
	}
	return nil
}

// deployment creates a Deployment that meets the standard, which the
// validating webhook (failing closed) must allow.
func (c webhookCalls) deployment(ctx context.Context) error {
	labels := map[string]string{"app": "web"}
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: c.namespace},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "example.com/web:1",
					Resources: corev1.ResourceRequirements{Requests: requests},
				}}},
			},
		},
	}
	_, err := c.cs.AppsV1().Deployments(c.namespace).Create(ctx, d, dryRun)
	return err
}

// callRecord counts the calls of a load loop and keeps every failure.
type callRecord struct {
	mu       sync.Mutex
	calls    int
	failures []string
}

func (r *callRecord) add(start time.Time, what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if err != nil {
		r.failures = append(r.failures, fmt.Sprintf("%s %s: %v", start.Format("15:04:05.000"), what, err))
	}
}

func (r *callRecord) result() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, append([]string(nil), r.failures...)
}

// load calls the webhooks every interval, HPA and Deployment in turn, until
// the returned stop is called; stop waits for the call in flight.
func (c webhookCalls) load(ctx context.Context, every time.Duration, rec *callRecord) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			start := time.Now()
			// A call cut short by stop is not a failure of the webhook.
			callCtx := context.WithoutCancel(ctx)
			if i%2 == 0 {
				rec.add(start, "dry-run HPA", c.hpa(callCtx))
			} else {
				rec.add(start, "dry-run Deployment", c.deployment(callCtx))
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// burst makes n HPA calls at once, which makes the API server open new
// connections to the webhook beside its idle ones.
func (c webhookCalls) burst(ctx context.Context, n int, rec *callRecord) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			start := time.Now()
			rec.add(start, "burst HPA", c.hpa(ctx))
		})
	}
	wg.Wait()
}
