package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
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
		standard := policies.Defaults()
		webhooks := harness.NewWebhookConfigs(&standard)
		err = webhooks.PointAt(sg.URL(), sg.CABundle)
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
		return harness.WaitForWebhook(ctx, bed.Client, metav1.NamespaceDefault, 30*time.Second)
	}); err != nil {
		_ = sg.Stop()
		return nil, fmt.Errorf("%w; see %s", err, sg.LogPath())
	}
	return sg, nil
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
