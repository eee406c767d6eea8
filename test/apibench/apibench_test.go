// Package apibench measures what scaleguard adds to writes through a real
// API server (issue 7, P3): Deployments created at concurrency 8 with no
// admission webhook, with scaleguard, and with a ValidatingAdmissionPolicy
// (CEL, in process) checking the same requests rule — the in-process
// alternative users compare against. Run with `make bench-apiserver`; the
// policy's correctness is checked in every `make test`.
package apibench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/load"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// requestsPolicy is requests-required written as a ValidatingAdmissionPolicy:
// every container and restartable init container requests cpu and memory.
func requestsPolicy() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	const has = `has(c.resources) && has(c.resources.requests) && 'cpu' in c.resources.requests && 'memory' in c.resources.requests`
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "requests-required"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"},
						Resources: []string{"deployments", "statefulsets"}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: `object.spec.template.spec.containers.all(c, ` + has + `) && ` +
					`(!has(object.spec.template.spec.initContainers) || object.spec.template.spec.initContainers.all(c, ` +
					`!has(c.restartPolicy) || c.restartPolicy != 'Always' || (` + has + `)))`,
				Message: "every container and sidecar must request cpu and memory",
			}},
		},
	}
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "requests-required"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        p.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return p, b
}

func namespace(t *testing.T, c client.Client, name string) string {
	t.Helper()
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// eventually polls f until it holds or 30 s pass.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, what, harness.Holds(f))
}

// TestPolicyRefusesWhatScaleguardRefuses keeps the comparison fair: the
// CEL policy must refuse a Deployment without requests and admit one with.
func TestPolicyRefusesWhatScaleguardRefuses(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	p, b := requestsPolicy()
	if err := bed.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	ns := namespace(t, bed.Client, "vap")
	eventually(t, "the policy refuses a Deployment without requests", func() bool {
		err := bed.Client.Create(ctx, harness.Deployment(ns, "bad", false), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "every container and sidecar must request cpu and memory")
	})
	if err := bed.Client.Create(ctx, harness.Deployment(ns, "good", true)); err != nil {
		t.Fatalf("the policy refused a Deployment with requests: %v", err)
	}
}

type run struct {
	config   string
	rate     float64
	median   time.Duration
	p99      time.Duration
	failures int64
	// cpu is each process's CPU time per create, by process name.
	cpu map[string]time.Duration
}

// process is a process whose CPU time a run reads.
type process struct {
	name string
	pid  int // 0: none
}

// cpuTimes reads the CPU time of each running process.
func cpuTimes(t *testing.T, ps []process) map[string]time.Duration {
	t.Helper()
	out := map[string]time.Duration{}
	for _, p := range ps {
		pid := p.pid
		if pid == 0 {
			continue
		}
		d, err := load.CPUTime(pid)
		if err != nil {
			t.Fatalf("CPU time of %s (pid %d): %v", p.name, pid, err)
		}
		out[p.name] = d
	}
	return out
}

// pidOf finds the process running the executable at path.
func pidOf(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path {
			return pid
		}
	}
	t.Fatalf("no process runs %s", path)
	return 0
}

// creates makes n compliant Deployments at the given concurrency.
func creates(c client.Client, config, ns string, n, concurrency int) run {
	var next, failures atomic.Int64
	latencies := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := c.Create(context.Background(), harness.Deployment(ns, fmt.Sprintf("d%05d", i), true)); err != nil {
					failures.Add(1)
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return run{config: config, rate: float64(n) / took.Seconds(), median: latencies[n/2], p99: latencies[n*99/100], failures: failures.Load()}
}

// config is one configuration of the benchmark: what admits the creates.
type config struct {
	name string
	// on starts it and returns once it refuses a non-compliant Deployment;
	// pid is its process, 0 for none of its own.
	on  func() (pid int)
	off func()
}

// TestCreatesThroughTheAPIServer is P3. It runs only when asked
// (SCALEGUARD_BENCH_APISERVER=1, `make bench-apiserver`, which builds
// Kyverno first): about four minutes, most of it Kyverno starting.
//
// Every webhook server runs only during its own configuration, so no
// configuration pays for another's process (scaleguard's cluster view
// watches every Deployment created). Besides scaleguard, two webhooks give
// the cost any webhook adds: the floor (a server that decodes each review
// with encoding/json and allows it) and the stock controller-runtime path
// with scaleguard's rules (test/load's stockserver).
func TestCreatesThroughTheAPIServer(t *testing.T) {
	if os.Getenv("SCALEGUARD_BENCH_APISERVER") == "" {
		t.Skip("set SCALEGUARD_BENCH_APISERVER=1 (make bench-apiserver)")
	}
	const perRound, concurrency, rounds = 1000, 8, 6
	kyvernoDir(t) // skip before starting anything when Kyverno is not built
	bed := testbed.Start(t, testbed.Options{})
	apiserver, etcd := pidOf(t, filepath.Join(bed.BinDir, "kube-apiserver")), pidOf(t, filepath.Join(bed.BinDir, "etcd"))
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	stockBin, err := load.BuildCommand(ctx, root, dir, "./test/load/cmd/stockserver")
	if err != nil {
		t.Fatal(err)
	}
	webhooks, err := harness.LoadWebhookConfigs(root)
	if err != nil {
		t.Fatal(err)
	}
	probe := namespace(t, bed.Client, "probe")
	refused := func(substr string) func() bool {
		return func() bool {
			err := bed.Client.Create(ctx, harness.Deployment(probe, "bad", false), client.DryRunAll)
			return err != nil && strings.Contains(err.Error(), substr)
		}
	}
	admitted := func() bool {
		return bed.Client.Create(ctx, harness.Deployment(probe, "bad", false), client.DryRunAll) == nil
	}
	// register points the webhook configurations at a server and waits
	// until it refuses the probe with a message holding substr.
	register := func(url string, caBundle []byte, substr string) {
		if err := webhooks.PointAt(url, caBundle); err != nil {
			t.Fatal(err)
		}
		if err := webhooks.Apply(ctx, bed.Client); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the webhook refuses", refused(substr))
	}
	unregister := func() {
		if err := webhooks.Delete(ctx, bed.Client); err != nil {
			t.Fatal(err)
		}
	}
	// stockServer starts test/load's stock server with flags.
	stockServer := func(flags ...string) (*load.StockServer, []byte) {
		ca, err := harness.NewCA()
		if err != nil {
			t.Fatal(err)
		}
		certDir := t.TempDir()
		if err := ca.WriteServing(certDir, 2); err != nil {
			t.Fatal(err)
		}
		ports, err := harness.FreePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := load.StartStockServer(ctx, stockBin, certDir, ports[0], ca, flags...)
		if err != nil {
			t.Fatal(err)
		}
		return s, ca.PEM
	}
	policy, binding := requestsPolicy()
	var sg *harness.Scaleguard
	var stock *load.StockServer
	var ky *kyvernoProcess
	// kyverno runs Kyverno with one of its policies on.
	kyverno := func(name string, on, off func(*kyvernoProcess, *testing.T)) config {
		return config{
			name: name,
			on: func() int {
				ky = startKyverno(t, bed)
				on(ky, t)
				return ky.PID()
			},
			off: func() {
				off(ky, t)
				if err := ky.stop(); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
	configs := []config{
		{name: "no policy", on: func() int { eventually(t, "nothing refuses", admitted); return 0 }, off: func() {}},
		{
			name: "ValidatingAdmissionPolicy",
			on: func() int {
				p, b := policy.DeepCopy(), binding.DeepCopy()
				if err := bed.Client.Create(ctx, p); err != nil {
					t.Fatal(err)
				}
				if err := bed.Client.Create(ctx, b); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the policy refuses", refused("every container and sidecar"))
				return 0
			},
			off: func() {
				_ = bed.Client.Delete(ctx, binding.DeepCopy())
				_ = bed.Client.Delete(ctx, policy.DeepCopy())
			},
		},
		{
			name: "webhook floor",
			on: func() int {
				var ca []byte
				stock, ca = stockServer("--floor", "--floor-refuses", "bad")
				register("https://127.0.0.1:"+strconv.Itoa(stock.Port), ca, "the floor refuses")
				return stock.PID()
			},
			off: func() { unregister(); stock.Stop() },
		},
		{
			name: "stock controller-runtime",
			on: func() int {
				var ca []byte
				stock, ca = stockServer()
				register("https://127.0.0.1:"+strconv.Itoa(stock.Port), ca, "requests-required")
				return stock.PID()
			},
			off: func() { unregister(); stock.Stop() },
		},
		{
			name: "scaleguard",
			on: func() int {
				sg, err = harness.StartWith(ctx, bin, t.TempDir(), harness.Options{Kubeconfig: bed.Kubeconfig})
				if err != nil {
					t.Fatal(err)
				}
				// A start scans the cluster once (the audit, then every 5
				// minutes): not part of what a create costs.
				if err := sg.WaitMetric(ctx, "scaleguard_audit_last_scan_timestamp_seconds", time.Minute, func(v float64) bool { return v > 0 }); err != nil {
					t.Fatal(err)
				}
				register(sg.URL(), sg.CABundle, "scaleguard refused")
				return sg.PID()
			},
			off: func() {
				unregister()
				if err := sg.Stop(); err != nil {
					t.Fatal(err)
				}
			},
		},
		kyverno("Kyverno ValidatingPolicy", (*kyvernoProcess).on, (*kyvernoProcess).off),
		kyverno("Kyverno ClusterPolicy", (*kyvernoProcess).onClusterPolicy, (*kyvernoProcess).offClusterPolicy),
	}
	// Forward then backward, so that a slow start or a growing etcd weighs
	// on each alike.
	results := map[string][]run{}
	for round := range rounds {
		seq := append([]config(nil), configs...)
		if round%2 == 1 {
			slices.Reverse(seq)
		}
		for _, cfg := range seq {
			webhookPID := cfg.on()
			processes := []process{
				{"kube-apiserver", apiserver},
				{"etcd", etcd},
				{"webhook", webhookPID},
				{"client", os.Getpid()},
			}
			ns := namespace(t, bed.Client, fmt.Sprintf("r%d-%s", round, strings.ToLower(strings.ReplaceAll(cfg.name, " ", "-"))))
			before := cpuTimes(t, processes)
			r := creates(bed.Client, cfg.name, ns, perRound, concurrency)
			after := cpuTimes(t, processes)
			r.cpu = map[string]time.Duration{}
			for p, d := range after {
				r.cpu[p] = (d - before[p]) / perRound
			}
			if r.failures > 0 {
				t.Errorf("%s: %d creates failed", cfg.name, r.failures)
			}
			results[cfg.name] = append(results[cfg.name], r)
			cfg.off()
			eventually(t, "back to no policy", admitted)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Through the API server\n\n"+
		"What admission adds to Deployment creates through a real kube-apiserver (the test bed of `make tools`, v1.37.2, etcd v3.6.16, all on this machine): "+
		"%d rounds of %d creates at concurrency %d per configuration, forward then backward, every create compliant. "+
		"`make bench-apiserver` reproduces it (`test/apibench`). Each webhook server runs only during its own configuration and is called over loopback TLS "+
		"through the webhook configurations of `config/webhook`:\n\n"+
		"- ValidatingAdmissionPolicy: the same requests rule in CEL, inside the API server (its verdicts are checked in `make test`).\n"+
		"- webhook floor: a controller-runtime webhook server that decodes each review with encoding/json and allows it, judging nothing — what any webhook costs.\n"+
		"- stock controller-runtime: scaleguard's rules behind typed `admission.Validator`s (`test/load/cmd/stockserver`), the path most webhooks take.\n"+
		"- scaleguard: `scaleguard serve` with its cluster view (informers on Deployments, StatefulSets, HPAs, LimitRanges, Namespaces), measured once its start-up audit has run.\n"+
		"- Kyverno v1.19.1 (`make kyverno`, run out of cluster with `--serverIP`, the chart's defaults for the rest, admission reports on): the same rule as a ValidatingPolicy (CEL) and as a ClusterPolicy (a validate pattern).\n\n"+
		"Measured %s, %d CPUs, %s.\n\n", rounds, perRound, concurrency, time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	b.WriteString("| configuration | creates/s | median | p99 | rate vs no policy | median added |\n|---|---:|---:|---:|---:|---:|\n")
	base := mean(results["no policy"])
	for _, cfg := range configs {
		m := mean(results[cfg.name])
		fmt.Fprintf(&b, "| %s | %.0f | %.2f ms | %.2f ms | %.2f | %+.2f ms |\n", cfg.name, m.rate, ms(m.median), ms(m.p99), m.rate/base.rate, ms(m.median-base.median))
	}
	columns := []string{"kube-apiserver", "etcd", "webhook", "client"}
	b.WriteString("\nCPU time per create, by process (user + system from `/proc/<pid>/stat`, 10 ms ticks, over each run; webhook is the configuration's own server):\n\n| configuration |")
	for _, c := range columns {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString(" all | added |\n|---|")
	for range columns {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---:|\n")
	total := func(m run) (all time.Duration) {
		for _, c := range columns {
			all += m.cpu[c]
		}
		return all
	}
	for _, cfg := range configs {
		m := mean(results[cfg.name])
		fmt.Fprintf(&b, "| %s |", cfg.name)
		for _, c := range columns {
			fmt.Fprintf(&b, " %d µs |", m.cpu[c].Microseconds())
		}
		fmt.Fprintf(&b, " %d µs | %+d µs |\n", total(m).Microseconds(), (total(m) - total(base)).Microseconds())
	}
	sgm, floor := mean(results["scaleguard"]), mean(results["webhook floor"])
	fmt.Fprintf(&b, "\nGoal (scaleguard ≥ 0.90 of the no-policy rate, ≤ 1 ms added to the median create): %.2f of the rate, %+.2f ms — %s. "+
		"The floor webhook keeps %.2f of the rate (%+.2f ms): what the API server and a webhook process spend on a call that judges nothing. "+
		"Against Kyverno's ValidatingPolicy, scaleguard's rate is %.2f×.\n",
		sgm.rate/base.rate, ms(sgm.median-base.median), metOrNot(sgm.rate/base.rate >= 0.9 && sgm.median-base.median <= time.Millisecond),
		floor.rate/base.rate, ms(floor.median-base.median), sgm.rate/mean(results["Kyverno ValidatingPolicy"]).rate)
	t.Log("\n" + b.String())
	if err := load.WriteSection(filepath.Join(root, "docs", "PERFORMANCE.md"), "## Through the API server", b.String()); err != nil {
		t.Fatal(err)
	}
}

func mean(rs []run) run {
	out := run{cpu: map[string]time.Duration{}}
	for _, r := range rs {
		for p, d := range r.cpu {
			out.cpu[p] += d / time.Duration(len(rs))
		}
		out.rate += r.rate / float64(len(rs))
		out.median += r.median / time.Duration(len(rs))
		out.p99 += r.p99 / time.Duration(len(rs))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
