package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
)

// viewDelay is how late scaleguard's informers hear of each write in
// TestAppliedTogether. On the test bed they hear of it within a
// millisecond, before kubectl's next request, so an HPA applied with its
// Deployment never meets a cache miss there; a busy API server or a longer
// network path makes watch events lag by this much and more.
const viewDelay = 100 * time.Millisecond

// TestAppliedTogether applies a Deployment and its HPA in one `kubectl
// apply` fifty times, as `kubectl apply -f dir/`, Helm or Argo CD do, with
// scaleguard's view of the cluster behind a link that delivers everything
// viewDelay late. The HPA then reaches the webhook before the informer has
// seen its target; the view looks the target up in the API server itself,
// so no HPA gets a spurious target-exists warning, and the lookups are
// counted.
func TestAppliedTogether(t *testing.T) {
	ctx := context.Background()
	slowView(t, viewDelay)
	ns := namespace(t, nil)
	const pairs = 50
	metric := "scaleguard_cluster_view_direct_lookups_total"
	found := func() float64 {
		t.Helper()
		n, err := env.sg.MetricSum(ctx, metric, `resource="deployments"`, `result="found"`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := found()
	var spurious []string
	for i := range pairs {
		name := fmt.Sprintf("web-%02d", i)
		manifest := workload(name, 2, bothRequests) + "---\n" +
			hpa(name, "Deployment", name, utilization("cpu", 70), utilization("memory", 80))
		_, stderr := mustApply(t, ns, manifest)
		for line := range strings.Lines(stderr) {
			if strings.Contains(line, "[target-exists]") || strings.Contains(line, "not checked") {
				spurious = append(spurious, strings.TrimSpace(line))
			}
		}
	}
	if len(spurious) > 0 {
		t.Errorf("%d warnings about the target of an HPA applied with it, over %d HPAs:\n%s",
			len(spurious), pairs, strings.Join(spurious, "\n"))
	}
	lookups := found() - before
	t.Logf("%g direct lookups found the target the informer had not seen yet", lookups)
	if lookups < pairs {
		t.Errorf("%s{resource=\"deployments\",result=\"found\"} grew by %g, want at least %d: some HPAs did not meet a cache miss, so the test proves less than it says",
			metric, lookups, pairs)
	}
}

// slowView restarts the shared scaleguard with its cluster view behind a
// harness.SlowLink of delay, and restores it when the test ends. The
// webhook itself is called directly, as before.
func slowView(t *testing.T, delay time.Duration) {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(env.bed.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	link, err := harness.NewSlowLink(u.Host, delay)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := link.Kubeconfig(env.sg.Kubeconfig, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	restart := func(kubeconfig string) error {
		if err := env.sg.Stop(); err != nil {
			return err
		}
		env.sg.Kubeconfig = kubeconfig
		return env.sg.Restart(ctx)
	}
	direct := env.sg.Kubeconfig
	t.Cleanup(func() {
		if err := restart(direct); err != nil {
			t.Errorf("restoring scaleguard's direct link: %v", err)
		}
		if err := link.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := restart(kubeconfig); err != nil {
		t.Fatal(err)
	}
}
