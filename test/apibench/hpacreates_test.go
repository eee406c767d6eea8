package apibench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/load"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestHPACreatesBesideAThousand measures what an HPA review costs
// scaleguard in a crowded namespace: 1,000 Deployments are created, then
// 1,000 HPAs beside them through the API server with scaleguard's webhooks
// installed, and it prints the creates per second and scaleguard's CPU per
// create. SCALEGUARD_BENCH_HPA_ARGS adds flags of `scaleguard serve`
// (e.g. --watch-workloads=true); SCALEGUARD_BENCH_HPA_PROFILE names a file
// for a CPU profile of scaleguard taken during the creates. About 30 s;
// `make bench-hpa-creates`. It prints, and writes nothing else.
func TestHPACreatesBesideAThousand(t *testing.T) {
	if os.Getenv("SCALEGUARD_BENCH_HPA") == "" {
		t.Skip("set SCALEGUARD_BENCH_HPA=1 (make bench-hpa-creates)")
	}
	const n = 1000
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	_, bin := harness.BuildForTest(t)
	ports, err := harness.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	args := append([]string{"--pprof-addr", pprofAddr}, strings.Fields(os.Getenv("SCALEGUARD_BENCH_HPA_ARGS"))...)
	sg, webhooks := harness.StartStandard(t, bin, harness.Options{Kubeconfig: bed.Kubeconfig, Args: args})
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	ns := namespace(t, bed.Client, "crowded")
	if err := harness.WaitForWebhook(ctx, bed.Client, ns, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if r, errs := creates(bed.Client, "Deployments", ns, n, 8, func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), true) }); r.failures > 0 {
		t.Fatalf("%d Deployments failed: %v", r.failures, firstError(errs))
	}
	time.Sleep(2 * time.Second)
	profiled := make(chan error, 1)
	if path := os.Getenv("SCALEGUARD_BENCH_HPA_PROFILE"); path != "" {
		go func() { profiled <- cpuProfile(pprofAddr, path) }()
	} else {
		profiled <- nil
	}
	before, err := load.CPUTime(sg.PID())
	if err != nil {
		t.Fatal(err)
	}
	r, errs := creates(bed.Client, "HPAs", ns, n, 8, func(ns string, i int) client.Object { return harness.HPA(ns, name(i)) })
	after, _ := load.CPUTime(sg.PID())
	if r.failures > 0 {
		t.Fatalf("%d HPA creates failed: %v", r.failures, firstError(errs))
	}
	t.Logf("%d HPA creates beside %d Deployments: %.0f/s, median %v, scaleguard CPU %v per create", n, n, r.rate, r.median, (after-before)/n)
	if err := <-profiled; err != nil {
		t.Error(err)
	}
}

// cpuProfile writes 10 s of scaleguard's CPU profile to path.
func cpuProfile(addr, path string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=10")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
