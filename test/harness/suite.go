package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// Suite is what the tests of a package share: one control plane, and
// `scaleguard serve` registered with it as its webhook.
type Suite struct {
	Bed      *testbed.Testbed
	SG       *Scaleguard
	Webhooks WebhookConfigs
	// Root is the repository; Bin the scaleguard binary, for tests that
	// run one of their own (`scaleguard check`, a second server).
	Root, Bin string
}

// SuiteOptions say how RunSuite sets a Suite up.
type SuiteOptions struct {
	// Name names the temporary folder and the namespace the first webhook
	// call is made in.
	Name string
	// CRDs are folders of CustomResourceDefinitions the control plane
	// starts with, relative to the repository.
	CRDs []string
	// WatchBed gives scaleguard the control plane's kubeconfig, as it
	// watches its cluster in a pod; without it, it runs without a cluster
	// view.
	WatchBed bool
	// Args are extra flags of `scaleguard serve`.
	Args []string
	// Standard generates the webhook configurations with its
	// matchConditions; nil registers them without, so that every write of
	// their kinds is sent.
	Standard *policies.Settings
	// LogTail is how many bytes of scaleguard's log are printed when a test
	// failed.
	LogTail int
}

// RunSuite starts a Suite, hands it to set (which keeps it for the tests),
// runs the tests once scaleguard answers through the API server, and
// stops everything; for a TestMain, through testbed.RunMain.
func RunSuite(m *testing.M, o SuiteOptions, set func(*Suite)) (int, error) {
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		return 0, err
	}
	var crds []string
	for _, d := range o.CRDs {
		crds = append(crds, filepath.Join(root, d))
	}
	bed, err := testbed.New(ctx, testbed.Options{CRDDirectoryPaths: crds})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := bed.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test bed:", err)
		}
	}()
	dir, err := os.MkdirTemp("", "scaleguard-"+o.Name+"-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := Build(ctx, root, dir)
	if err != nil {
		return 0, err
	}
	serve := Options{Args: o.Args}
	if o.WatchBed {
		serve.Kubeconfig = bed.Kubeconfig
	}
	sg, err := StartWith(ctx, bin, dir, serve)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := sg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping scaleguard:", err)
		}
	}()
	webhooks := NewWebhookConfigs(o.Standard)
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		return 0, err
	}
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		return 0, err
	}
	set(&Suite{Bed: bed, SG: sg, Webhooks: webhooks, Root: root, Bin: bin})
	// The probe WaitForWebhook dry-runs gets a namespace of its own.
	warmup := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Name + "-warmup"}}
	if err := bed.Client.Create(ctx, warmup); err != nil {
		return 0, err
	}
	if err := WaitForWebhook(ctx, bed.Client, warmup.Name, 30*time.Second); err != nil {
		return 0, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "scaleguard log (%s):\n%s\n", sg.LogPath(), Tail(sg.LogPath(), o.LogTail))
	}
	return code, nil
}
