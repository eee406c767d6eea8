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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	return celPolicy("requests-required", admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"},
		Resources: []string{"deployments", "statefulsets"}},
		`object.spec.template.spec.containers.all(c, `+has+`) && `+
			`(!has(object.spec.template.spec.initContainers) || object.spec.template.spec.initContainers.all(c, `+
			`!has(c.restartPolicy) || c.restartPolicy != 'Always' || (`+has+`)))`,
		"every container and sidecar must request cpu and memory")
}

// hpaPolicy is what scaleguard's validating webhook asks of an HPA's
// shape, as far as CEL sees it without the cluster: at least two replicas,
// a behavior, and a memory target beside the others. (scaleguard also checks
// the behavior's arithmetic, the API version written, the target and its
// requests.)
func hpaPolicy() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	return celPolicy("hpa-standard", admissionregistrationv1.Rule{APIGroups: []string{"autoscaling"}, APIVersions: []string{"v2"},
		Resources: []string{"horizontalpodautoscalers"}},
		`has(object.spec.minReplicas) && object.spec.minReplicas >= 2 && has(object.spec.behavior) && `+
			`has(object.spec.metrics) && object.spec.metrics.exists(m, m.type == 'Resource' && has(m.resource) && m.resource.name == 'memory')`,
		"an HPA needs minReplicas of at least 2, a behavior and a memory target")
}

// celPolicy is a ValidatingAdmissionPolicy that denies creates and updates
// of what rule matches unless expression holds, and its binding.
func celPolicy(name string, rule admissionregistrationv1.Rule, expression, message string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       rule,
				}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: expression, Message: message}},
		},
	}
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        p.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return p, b
}

// policyObjects are both policies and their bindings, created in this order.
func policyObjects() []client.Object {
	rp, rb := requestsPolicy()
	hp, hb := hpaPolicy()
	return []client.Object{rp, rb, hp, hb}
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
// CEL policies must refuse a Deployment without requests and a bare HPA,
// and admit the Deployment and HPA the benchmark creates.
func TestPolicyRefusesWhatScaleguardRefuses(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	for _, obj := range policyObjects() {
		if err := bed.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	ns := namespace(t, bed.Client, "vap")
	bare := harness.HPA(ns, "bare")
	bare.Spec.MinReplicas, bare.Spec.Behavior, bare.Spec.Metrics = nil, nil, bare.Spec.Metrics[:1]
	eventually(t, "the policy refuses a bare HPA", func() bool {
		err := bed.Client.Create(ctx, bare, client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "an HPA needs minReplicas of at least 2")
	})
	if err := bed.Client.Create(ctx, harness.HPA(ns, "good")); err != nil {
		t.Fatalf("the policy refused the standard HPA: %v", err)
	}
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

// creates makes n objects, object(ns, i), at the given concurrency.
func creates(c client.Client, config, ns string, n, concurrency int, object func(ns string, i int) client.Object) run {
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
				if err := c.Create(context.Background(), object(ns, i)); err != nil {
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
	// workloadsOnly: it has no policy for HPAs, so it is not run on them.
	workloadsOnly bool
}

// kind is what a run creates, every object compliant.
type kind struct {
	name   string
	object func(ns string, i int) client.Object
	// needs makes, untimed, what the objects need (an HPA its Deployment).
	needs func(ns string, i int) client.Object
}

var kinds = []kind{
	{name: "Deployment", object: func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), true) }},
	{
		name:   "HorizontalPodAutoscaler",
		object: func(ns string, i int) client.Object { return harness.HPA(ns, name(i)) },
		needs:  func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), true) },
	},
}

func name(i int) string { return fmt.Sprintf("o%05d", i) }

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
	// A cluster whose HPAs scale has metrics-server's APIService. Registered
	// here as a local one (Available, though nothing serves it), so that
	// scaleguard's metrics-available rule sees what it sees there and does
	// not warn on every HPA, as it rightly does on a bare test bed.
	metricsAPI := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec":     map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": int64(100), "versionPriority": int64(100)},
	}}
	if err := bed.Client.Create(ctx, metricsAPI); err != nil {
		t.Fatal(err)
	}
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	stockBin, err := harness.BuildCommand(ctx, root, dir, "./test/load/cmd/stockserver")
	if err != nil {
		t.Fatal(err)
	}
	// Every write is sent to the floor and stock webhooks; scaleguard's
	// configurations carry the matchConditions it keeps in them.
	webhooks := harness.NewWebhookConfigs(nil)
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
	var sg *harness.Scaleguard
	var stock *load.StockServer
	var ky *kyvernoProcess
	// kyverno runs Kyverno with one of its policies on.
	kyverno := func(name string, on, off func(*kyvernoProcess, *testing.T)) config {
		return config{
			name:          name,
			workloadsOnly: true,
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
				for _, obj := range policyObjects() {
					if err := bed.Client.Create(ctx, obj); err != nil {
						t.Fatal(err)
					}
				}
				eventually(t, "the policy refuses", refused("every container and sidecar"))
				return 0
			},
			off: func() {
				objs := policyObjects()
				for i := len(objs) - 1; i >= 0; i-- {
					_ = bed.Client.Delete(ctx, objs[i])
				}
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
			for _, k := range kinds {
				if k.name != "Deployment" && cfg.workloadsOnly {
					continue
				}
				ns := namespace(t, bed.Client, fmt.Sprintf("r%d-%s-%s", round, strings.ToLower(k.name[:3]), strings.ToLower(strings.ReplaceAll(cfg.name, " ", "-"))))
				if k.needs != nil {
					if r := creates(bed.Client, "needs", ns, perRound, concurrency, k.needs); r.failures > 0 {
						t.Fatalf("%s: %d of what the %s need failed", cfg.name, r.failures, k.name)
					}
					// Let a cluster view see them before anything is timed.
					time.Sleep(2 * time.Second)
				}
				before := cpuTimes(t, processes)
				r := creates(bed.Client, cfg.name, ns, perRound, concurrency, k.object)
				after := cpuTimes(t, processes)
				r.cpu = map[string]time.Duration{}
				for p, d := range after {
					r.cpu[p] = (d - before[p]) / perRound
				}
				if r.failures > 0 {
					t.Errorf("%s, %s: %d creates failed", cfg.name, k.name, r.failures)
				}
				results[k.name+"/"+cfg.name] = append(results[k.name+"/"+cfg.name], r)
			}
			cfg.off()
			eventually(t, "back to no policy", admitted)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Through the API server\n\n"+
		"What admission adds to creates through a real kube-apiserver (the test bed of `make tools`, v1.37.2, etcd v3.6.16, all on this machine): "+
		"%d rounds of %d creates at concurrency %d per configuration and kind, forward then backward, every object compliant: "+
		"Deployments (one container with requests), then HPAs (the standard's shape, each scaling a Deployment created beforehand, untimed). "+
		"`make bench-apiserver` reproduces it (`test/apibench`). Each webhook server runs only during its own configuration and is called over loopback TLS "+
		"through the webhook configurations of `config/webhook` (for an HPA, the mutating and the validating webhook). "+
		"The test bed has metrics-server's APIService registered (as a local one), as a cluster whose HPAs scale does, so that scaleguard's metrics-available rule has nothing to warn about:\n\n"+
		"- ValidatingAdmissionPolicy: the requests rule, and for HPAs minReplicas ≥ 2, a behavior and a memory target, in CEL inside the API server (their verdicts are checked in `make test`).\n"+
		"- webhook floor: a controller-runtime webhook server that decodes each review with encoding/json and allows it, judging nothing — what any webhook costs.\n"+
		"- stock controller-runtime: scaleguard's rules behind a typed `admission.Defaulter` and `Validator`s (`test/load/cmd/stockserver`), the path most webhooks take.\n"+
		"- scaleguard: `scaleguard serve` with its cluster view (informers on Deployments, StatefulSets, HPAs, LimitRanges, Namespaces), measured once its start-up audit has run.\n"+
		"- Kyverno v1.19.1 (`make kyverno`, run out of cluster with `--serverIP`, the chart's defaults for the rest, admission reports on): the requests rule as a ValidatingPolicy (CEL) and as a ClusterPolicy (a validate pattern); Deployments only.\n\n"+
		"Rates and latencies are means over the rounds; a configuration is compared with no policy round by round, and the table gives the median of those comparisons and their range.\n\n"+
		"Measured %s, %d CPUs, %s.\n", rounds, perRound, concurrency, time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	columns := []string{"kube-apiserver", "etcd", "webhook", "client"}
	total := func(m run) (all time.Duration) {
		for _, c := range columns {
			all += m.cpu[c]
		}
		return all
	}
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n### %s creates\n\n", k.name)
		b.WriteString("| configuration | creates/s | median | p99 | rate vs no policy | (range) | median added | (range) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		baseRuns := results[k.name+"/no policy"]
		base := mean(baseRuns)
		for _, cfg := range configs {
			rs, ok := results[k.name+"/"+cfg.name]
			if !ok {
				continue
			}
			m := mean(rs)
			ratio, added := againstBase(rs, baseRuns)
			fmt.Fprintf(&b, "| %s | %.0f | %.2f ms | %.2f ms | %.2f | %.2f–%.2f | %+.2f ms | %+.2f – %+.2f ms |\n", cfg.name, m.rate, ms(m.median), ms(m.p99),
				ratio.mid, ratio.lo, ratio.hi, added.mid, added.lo, added.hi)
		}
		b.WriteString("\nCPU time per create, by process (user + system from `/proc/<pid>/stat`, 10 ms ticks, over each run; webhook is the configuration's own server):\n\n| configuration |")
		for _, c := range columns {
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString(" all | added |\n|---|")
		for range columns {
			b.WriteString("---:|")
		}
		b.WriteString("---:|---:|\n")
		for _, cfg := range configs {
			rs, ok := results[k.name+"/"+cfg.name]
			if !ok {
				continue
			}
			m := mean(rs)
			fmt.Fprintf(&b, "| %s |", cfg.name)
			for _, c := range columns {
				fmt.Fprintf(&b, " %d µs |", m.cpu[c].Microseconds())
			}
			fmt.Fprintf(&b, " %d µs | %+d µs |\n", total(m).Microseconds(), (total(m) - total(base)).Microseconds())
		}
		sgRatio, sgAdded := againstBase(results[k.name+"/scaleguard"], baseRuns)
		floorRatio, floorAdded := againstBase(results[k.name+"/webhook floor"], baseRuns)
		fmt.Fprintf(&b, "\nGoal (scaleguard ≥ 0.90 of the no-policy rate, ≤ 1 ms added to the median create): %.2f of the rate, %+.2f ms — %s. "+
			"The floor webhook keeps %.2f of the rate (%+.2f ms): what the API server and a webhook process spend on calls that judge nothing.",
			sgRatio.mid, sgAdded.mid, metOrNot(sgRatio.mid >= 0.9 && sgAdded.mid <= 1), floorRatio.mid, floorAdded.mid)
		if kv, ok := results[k.name+"/Kyverno ValidatingPolicy"]; ok {
			kvRatio, _ := againstBase(kv, baseRuns)
			fmt.Fprintf(&b, " Kyverno's ValidatingPolicy keeps %.2f.", kvRatio.mid)
		}
		b.WriteString("\n")
	}
	t.Log("\n" + b.String())
	if err := load.WriteSection(filepath.Join(root, "docs", "PERFORMANCE.md"), "## Through the API server", b.String()); err != nil {
		t.Fatal(err)
	}
}

// spread is a median and the range around it.
type spread struct{ mid, lo, hi float64 }

func spreadOf(xs []float64) spread {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	mid := xs[n/2]
	if n%2 == 0 {
		mid = (xs[n/2-1] + xs[n/2]) / 2
	}
	return spread{mid: mid, lo: xs[0], hi: xs[n-1]}
}

// againstBase compares each run with the no-policy run of the same round
// (rounds run every configuration in turn, so a drift of the machine or of
// etcd's size weighs on both): the rate as a ratio, the median latency as
// milliseconds added. Each is the median over the rounds and their range.
func againstBase(rs, base []run) (ratio, added spread) {
	var ratios, adds []float64
	for i := range min(len(rs), len(base)) {
		ratios = append(ratios, rs[i].rate/base[i].rate)
		adds = append(adds, ms(rs[i].median-base[i].median))
	}
	return spreadOf(ratios), spreadOf(adds)
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
