package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// startScaleguard builds cmd/scaleguard into dir, runs `scaleguard serve`
// with the built-in standard, registers the webhook configurations of
// config/webhook pointed at it, and returns once the API server calls it.
// The caller stops the returned process.
func startScaleguard(ctx context.Context, bed *testbed.Testbed, root, dir string, step stepper) (*harness.Scaleguard, error) {
	var bin string
	if err := step("building scaleguard", func() (err error) {
		bin, err = harness.Build(ctx, root, dir)
		return err
	}); err != nil {
		return nil, err
	}
	var sg *harness.Scaleguard
	if err := step("starting scaleguard serve and registering config/webhook", func() error {
		var err error
		// With the cluster view, as a real install runs: LimitRanges,
		// scale targets, other HPAs and the metrics APIs count.
		if sg, err = harness.StartWith(ctx, bin, dir, harness.Options{Kubeconfig: bed.Kubeconfig}); err != nil {
			return err
		}
		webhooks, err := harness.LoadWebhookConfigs(root)
		if err == nil {
			err = webhooks.PointAt(sg.URL(), sg.CABundle)
		}
		if err == nil {
			err = webhooks.Apply(ctx, bed.Client)
		}
		return err
	}); err != nil {
		if sg != nil {
			_ = sg.Stop()
		}
		return nil, err
	}
	if err := step("waiting until the API server calls scaleguard", func() error {
		return waitForWebhook(ctx, bed.Client, 30*time.Second)
	}); err != nil {
		_ = sg.Stop()
		return nil, fmt.Errorf("%w; see %s", err, sg.LogPath())
	}
	return sg, nil
}

// waitForWebhook returns once a dry-run create of a Deployment without
// requests is refused by scaleguard: the API server's webhook informer
// takes a moment to see new configurations, and until then writes pass
// unjudged.
func waitForWebhook(ctx context.Context, c client.Client, timeout time.Duration) error {
	labels := map[string]string{"app": "probe"}
	probe := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "scaleguard-probe", Namespace: metav1.NamespaceDefault},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "probe"}}},
			},
		},
	}
	deadline := time.Now().Add(timeout)
	for {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "scaleguard") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call scaleguard after %s (last answer: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createNamespaces creates each namespace that does not exist yet.
func createNamespaces(ctx context.Context, c client.Client, names []string) error {
	var errs []error
	for _, name := range names {
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("creating namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// stepper runs one named step of the start-up, reporting its progress.
type stepper func(name string, f func() error) error

// quietSteps runs the steps without printing anything (tests).
func quietSteps(_ string, f func() error) error { return f() }
