package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// env is the control plane and the scaleguard process the tests share.
var env struct {
	bed  *testbed.Testbed
	sg   *harness.Scaleguard
	root string
	// bin is the scaleguard binary, for `scaleguard check --fix`.
	bin string
}

func TestMain(m *testing.M) {
	testbed.RunMain("gitops", func() (int, error) { return run(m) })
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
	dir, err := os.MkdirTemp("", "scaleguard-gitops-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		return 0, err
	}
	sgDir := filepath.Join(dir, "serve")
	if err := os.Mkdir(sgDir, 0o755); err != nil {
		return 0, err
	}
	// No cluster view: the mutations read the HPA alone.
	sg, err := harness.StartWith(ctx, bin, sgDir, harness.Options{})
	if err != nil {
		return 0, err
	}
	defer sg.Stop()
	// The configurations without matchConditions: every HPA write is sent
	// to the mutating webhook, so that "nothing to patch" is scaleguard's
	// own answer to the fixed manifest and not the API server's filter.
	webhooks := harness.NewWebhookConfigs(nil)
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		return 0, err
	}
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		return 0, err
	}
	warmup := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gitops-warmup"}}
	if err := bed.Client.Create(ctx, warmup); err != nil {
		return 0, err
	}
	if err := harness.WaitForWebhook(ctx, bed.Client, warmup.Name, 30*time.Second); err != nil {
		return 0, err
	}
	env.bed, env.sg, env.root, env.bin = bed, sg, root, bin
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "scaleguard log (%s):\n%s\n", sg.LogPath(), harness.Tail(sg.LogPath(), 4000))
	}
	return code, nil
}
