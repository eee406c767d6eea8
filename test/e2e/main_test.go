// Package e2e tests scaleguard through a real kube-apiserver: scaleguard
// serve runs as a process, registered with the webhook configurations from
// config/webhook, and requests come from the real kubectl and client-go.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
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
	// bin is the scaleguard binary, for tests that start one of their own.
	bin string
}

func TestMain(m *testing.M) {
	testbed.RunMain("e2e", func() (int, error) { return run(m) })
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		return 0, err
	}
	// scaleguard's own CRDs, as the chart installs them.
	bed, err := testbed.New(ctx, testbed.Options{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := bed.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test bed:", err)
		}
	}()
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
	// SCALEGUARD_E2E_SERVE_ARGS adds flags of `scaleguard serve`, so that
	// the suite, or part of it, runs again in another mode
	// (`make unit` runs some with --watch-workloads=true).
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{Kubeconfig: bed.Kubeconfig, Args: strings.Fields(os.Getenv("SCALEGUARD_E2E_SERVE_ARGS"))})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := sg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping scaleguard:", err)
		}
	}()
	standard := policies.Defaults()
	webhooks := harness.NewWebhookConfigs(&standard)
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		return 0, err
	}
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		return 0, err
	}
	env.bed, env.sg, env.webhooks, env.root, env.bin = bed, sg, webhooks, root, bin
	// The probe WaitForWebhook dry-runs gets a namespace of its own.
	warmup := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-warmup"}}
	if err := bed.Client.Create(ctx, warmup); err != nil {
		return 0, err
	}
	if err := harness.WaitForWebhook(ctx, bed.Client, warmup.Name, 30*time.Second); err != nil {
		return 0, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "scaleguard log (%s):\n%s\n", sg.LogPath(), harness.Tail(sg.LogPath(), 6000))
	}
	return code, nil
}
