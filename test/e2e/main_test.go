// Package e2e tests scaleguard through a real kube-apiserver: scaleguard
// serve runs as a process, registered with the webhook configurations from
// config/webhook, and requests come from the real kubectl and client-go.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// env is the one control plane and scaleguard process shared by the tests;
// tests that stop scaleguard restore it before they end.
var env struct {
	bed      *testbed.Testbed
	sg       *harness.Scaleguard
	webhooks harness.WebhookConfigs
	root     string
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if testbed.IsToolsMissing(err) && !testbed.InCI() {
			fmt.Fprintln(os.Stderr, "e2e: skipped (run `make tools`)")
			os.Exit(0)
		}
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		return 0, err
	}
	bed, err := testbed.New(ctx, testbed.Options{})
	if err != nil {
		return 0, err
	}
	defer bed.Stop()
	dir, err := os.MkdirTemp("", "scaleguard-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		return 0, err
	}
	// scaleguard watches the test bed, as it watches its cluster in a pod.
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{Kubeconfig: bed.Kubeconfig})
	if err != nil {
		return 0, err
	}
	defer sg.Stop()
	webhooks, err := harness.LoadWebhookConfigs(root)
	if err != nil {
		return 0, err
	}
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		return 0, err
	}
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		return 0, err
	}
	env.bed, env.sg, env.webhooks, env.root = bed, sg, webhooks, root
	if err := waitForWebhook(ctx); err != nil {
		return 0, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "scaleguard log (%s):\n", sg.LogPath())
		if b, err := os.ReadFile(sg.LogPath()); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) > 60 {
				lines = lines[len(lines)-60:]
			}
			fmt.Fprintln(os.Stderr, strings.Join(lines, "\n"))
		}
	}
	return code, nil
}

// waitForWebhook returns once the API server calls scaleguard: its webhook
// configuration informer needs a moment after the configurations are created.
func waitForWebhook(ctx context.Context) error {
	ns := "e2e-warmup"
	if err := env.bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := env.bed.Client.Create(ctx, deploymentWithout(ns, "probe"), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "scaleguard") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call scaleguard after 30s (last answer: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deploymentWithout is a Deployment whose container requests nothing.
func deploymentWithout(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
			},
		},
	}
}
