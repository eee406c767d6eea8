// Package apibench measures what admission adds to writes through a real
// API server (issue 7, P3; issue 11, CEL first): Deployments and HPAs
// created at concurrency 8 with no policy, with a ValidatingAdmissionPolicy
// (CEL, in process) checking the same rules, with webhooks that judge
// nothing or run scaleguard's rules the stock way, with scaleguard behind
// its matchConditions and with every write sent, and with Kyverno; and a
// stream of Deployments 5 % of which violate requests-required, whose every
// verdict is checked. Run with `make bench-apiserver`; the policy's
// correctness is checked in every `make test`.
package apibench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
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
	round    int
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
	// The test bed's own: a child of this process. Another test bed on the
	// machine (another package's tests) runs the same binary.
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || exe != path {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, not ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	t.Fatalf("no child of this process runs %s", path)
	return 0
}

// creates makes n objects, object(ns, i), at the given concurrency, and
// returns what each create answered.
func creates(c client.Client, config, ns string, n, concurrency int, object func(ns string, i int) client.Object) (run, []error) {
	var next, failures atomic.Int64
	latencies := make([]time.Duration, n)
	errs := make([]error, n)
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
					errs[i] = err
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return run{config: config, rate: float64(n) / took.Seconds(), median: latencies[n/2], p99: latencies[n*99/100], failures: failures.Load()}, errs
}

// config is one configuration of the benchmark: what admits the creates.
type config struct {
	name string
	// on starts it and returns once it refuses a non-compliant Deployment;
	// pid is its process, 0 for none of its own.
	on  func() (pid int)
	off func()
	// kinds it is run on, by kind key; nil: Deployments and HPAs.
	kinds []string
	// refusal is what the API server must answer, in the mixed stream, to
	// the create of Deployment ns/name without requests; nil: admitted.
	refusal func(ns, name string) []string
	// mutates: it gives a bare HPA the standard, and is made to show it
	// after each HPA run.
	mutates bool
	// celPolicies: scaleguard's standard as the API server's own admission
	// policies, no webhook.
	celPolicies bool
	// doc says what it is, for the report.
	doc string
	// rounds it runs in, the first ones; 0: every round. No policy runs in
	// every round, the baseline of each.
	rounds int
}

func (c config) runs(k kind) bool {
	if c.kinds == nil {
		return k.key == "dep" || k.key == "hpa"
	}
	return slices.Contains(c.kinds, k.key)
}

// kind is what a run creates.
type kind struct {
	name string
	// key names the kind in namespaces, results and config.kinds.
	key    string
	object func(ns string, i int) client.Object
	// needs makes, untimed, what the objects need (an HPA its Deployment).
	needs func(ns string, i int) client.Object
	// mixed: the objects violatingAt marks break requests-required.
	mixed bool
}

var kinds = []kind{
	{name: "Deployment", key: "dep", object: func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), true) }},
	{
		name: "Deployment, 5 % violating", key: "mix", mixed: true,
		object: func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), !violatingAt(i)) },
	},
	{
		name: "HorizontalPodAutoscaler", key: "hpa",
		object: func(ns string, i int) client.Object { return harness.HPA(ns, name(i)) },
		needs:  func(ns string, i int) client.Object { return harness.Deployment(ns, name(i), true) },
	},
}

func name(i int) string { return fmt.Sprintf("o%05d", i) }

// slug makes a configuration's name fit in a namespace's.
func slug(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
	return strings.Join(f, "-")
}

// TestCreatesThroughTheAPIServer is P3, and issue 11's measurements of
// scaleguard behind its matchConditions. It runs only when asked
// (SCALEGUARD_BENCH_APISERVER=1, `make bench-apiserver`, which builds
// Kyverno first).
//
// Every webhook server runs only during its own configuration, so no
// configuration pays for another's process (scaleguard's cluster view
// watches every Deployment created). Besides scaleguard, two webhooks give
// the cost any webhook adds: the floor (a server that decodes each review
// with encoding/json and allows it) and the stock controller-runtime path
// with scaleguard's rules (test/load's stockserver); both, and scaleguard
// "every write sent", are registered without matchConditions.
func TestCreatesThroughTheAPIServer(t *testing.T) {
	if os.Getenv("SCALEGUARD_BENCH_APISERVER") == "" {
		t.Skip("set SCALEGUARD_BENCH_APISERVER=1 (make bench-apiserver)")
	}
	// The client logs the warnings scaleguard gives a bare HPA.
	ctrllog.SetLogger(logr.Discard())
	const perRound, concurrency = 1000, 8
	focus, err := focusFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	rounds := focus.rounds
	began := time.Now()
	if focus.wants("Kyverno ValidatingPolicy") || focus.wants("Kyverno ClusterPolicy") {
		kyvernoDir(t) // skip before starting anything when Kyverno is not built
	}
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
	defaults := policies.Defaults()
	// scaleguard as installed: its configurations carry the matchConditions
	// of its settings (the built-in standard), registered with them so that
	// nothing waits on its sync. Every write is sent to the floor and stock
	// webhooks and to scaleguard "every write sent".
	withConditions, everyWrite := harness.NewWebhookConfigs(&defaults), harness.NewWebhookConfigs(nil)
	probe := namespace(t, bed.Client, "probe")
	standard := standardSpec(t, bed.Client, probe)
	refused := func(substr string) func() bool {
		return func() bool {
			err := bed.Client.Create(ctx, harness.Deployment(probe, "bad", false), client.DryRunAll)
			return err != nil && strings.Contains(err.Error(), substr)
		}
	}
	// bareMinReplicas is the minReplicas a bare HPA comes back with from a
	// dry run: 1 (the API server's default) unless something mutates it.
	bareMinReplicas := func(want int32) func() bool {
		return func() bool {
			h := bareHPA(probe, "bare")
			err := bed.Client.Create(ctx, h, client.DryRunAll)
			return err == nil && h.Spec.MinReplicas != nil && *h.Spec.MinReplicas == want
		}
	}
	admitted := func() bool {
		return bed.Client.Create(ctx, harness.Deployment(probe, "bad", false), client.DryRunAll) == nil && bareMinReplicas(1)()
	}
	// register points webhook configurations at a server and waits until
	// it refuses the probe with a message holding substr.
	register := func(webhooks harness.WebhookConfigs, url string, caBundle []byte, substr string) {
		if err := webhooks.PointAt(url, caBundle); err != nil {
			t.Fatal(err)
		}
		if err := webhooks.Apply(ctx, bed.Client); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the webhook refuses", refused(substr))
	}
	unregister := func() {
		if err := everyWrite.Delete(ctx, bed.Client); err != nil { // the same names as withConditions
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
	// scaleguard runs `scaleguard serve` with o behind webhooks.
	scaleguard := func(name string, webhooks harness.WebhookConfigs, o harness.Options) config {
		return config{
			name: name,
			on: func() int {
				sg, err = harness.StartWith(ctx, bin, t.TempDir(), o)
				if err != nil {
					t.Fatal(err)
				}
				// A start scans the cluster once (the audit, then every 5
				// minutes): not part of what a create costs.
				if o.Kubeconfig != "" {
					if err := sg.WaitMetric(ctx, "scaleguard_audit_last_scan_timestamp_seconds", time.Minute, func(v float64) bool { return v > 0 }); err != nil {
						t.Fatal(err)
					}
				}
				register(webhooks, sg.URL(), sg.CABundle, "scaleguard refused")
				return sg.PID()
			},
			off: func() {
				unregister()
				if err := sg.Stop(); err != nil {
					t.Fatal(err)
				}
			},
			refusal: scaleguardRefusal,
			mutates: true,
		}
	}
	var stock *load.StockServer
	var ky *kyvernoProcess
	// kyverno runs Kyverno with one of its policies on.
	kyverno := func(name, doc string, on, off func(*kyvernoProcess, *testing.T)) config {
		return config{
			name:  name,
			doc:   doc,
			kinds: []string{"dep"},
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
		{name: "no policy", on: func() int { eventually(t, "nothing refuses", admitted); return 0 }, off: func() {},
			kinds: []string{"dep", "mix", "hpa"}},
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
			kinds:   []string{"dep", "mix", "hpa"},
			refusal: policyRefusal,
			doc: "the requests rule, and for HPAs minReplicas ≥ 2, a behavior and a memory target, written by hand in CEL and run inside the API server " +
				"(their verdicts are checked in `make test`); it refuses a bare HPA rather than mutating it.",
		},
		func() config {
			n := len(celpolicy.AdmissionPolicies(&defaults))
			return config{
				name: "scaleguard's CEL policies",
				on: func() int {
					for _, obj := range celpolicy.AdmissionPolicies(&defaults) {
						if err := bed.Client.Create(ctx, obj); err != nil {
							t.Fatal(err)
						}
					}
					eventually(t, "the policies refuse", refused("scaleguard refused"))
					return 0
				},
				off: func() {
					objs := celpolicy.AdmissionPolicies(&defaults)
					for i := len(objs) - 1; i >= 0; i-- {
						_ = bed.Client.Delete(ctx, objs[i])
					}
				},
				kinds:       []string{"dep", "mix", "hpa"},
				rounds:      4,
				refusal:     celPolicyRefusal,
				mutates:     true,
				celPolicies: true,
				doc: fmt.Sprintf("no webhook: the rules CEL can express, exported from the built-in standard by `celpolicy.AdmissionPolicies` "+
					"(ValidatingAdmissionPolicies, MutatingAdmissionPolicies and their bindings, %d objects) and run inside the API server.", n),
			}
		}(),
		{
			name: "webhook floor",
			on: func() int {
				var ca []byte
				stock, ca = stockServer("--floor", "--floor-refuses", "bad")
				register(everyWrite, "https://127.0.0.1:"+strconv.Itoa(stock.Port), ca, "the floor refuses")
				return stock.PID()
			},
			off: func() { unregister(); stock.Stop() },
			doc: "a controller-runtime webhook server that decodes each review with encoding/json and allows it, judging nothing, " +
				"registered without matchConditions so that every write is sent — what any webhook costs.",
		},
		{
			name: "stock controller-runtime",
			on: func() int {
				var ca []byte
				stock, ca = stockServer()
				register(everyWrite, "https://127.0.0.1:"+strconv.Itoa(stock.Port), ca, "requests-required")
				return stock.PID()
			},
			off: func() { unregister(); stock.Stop() },
			doc: "scaleguard's rules behind a typed `admission.Defaulter` and `Validator`s (`test/load/cmd/stockserver`), the path most webhooks take; " +
				"registered without matchConditions.",
		},
		func() config {
			c := scaleguard("scaleguard, every write sent", everyWrite,
				harness.Options{Kubeconfig: bed.Kubeconfig, Args: []string{"--manage-webhook-conditions=false"}})
			// Fewer rounds: it is the figure before the matchConditions, kept
			// for comparison, and the run is long.
			c.kinds, c.rounds = []string{"dep", "mix", "hpa"}, 4
			c.doc = "`scaleguard serve` as it was measured before its matchConditions: the configurations without them and " +
				"`--manage-webhook-conditions=false`, so that every write of the matched kinds is sent (for an HPA, to the mutating and the validating webhook). " +
				"With its cluster view, measured once its start-up audit has run."
			return c
		}(),
		func() config {
			c := scaleguard("scaleguard", withConditions, harness.Options{Kubeconfig: bed.Kubeconfig})
			c.kinds = []string{"dep", "mix", "hpa"}
			c.doc = "`scaleguard serve` as installed now: the configurations carry the matchConditions of its settings (the built-in standard), " +
				"registered with them, which `scaleguard serve` then keeps in step. The API server calls it only for a write a rule could judge: " +
				"not for a compliant Deployment create, and for a compliant HPA create the validating webhook alone (its rules read the target and the other HPAs). " +
				"With its cluster view (informers on HPAs, LimitRanges, ResourceQuotas, PodDisruptionBudgets, Namespaces and APIServices; VPAs and ScaledObjects once their CRDs are served; " +
				"workloads read from the API server when a rule needs one: a GET of an HPA's target and a LIST of its namespace's workloads, shared for 2 s), measured once its start-up audit has run."
			return c
		}(),
		func() config {
			c := scaleguard("scaleguard, watching workloads", withConditions, harness.Options{Kubeconfig: bed.Kubeconfig, Args: []string{"--watch-workloads=true"}})
			c.kinds = []string{"dep", "mix", "hpa"}
			c.doc = "the same with `--watch-workloads=true` (the default until 2026-12-05): its cluster view also keeps Deployment and StatefulSet informers, " +
				"so that every workload write reaches it as a watch event, and reads an HPA's target and its namespace's workloads from them."
			return c
		}(),
		func() config {
			c := scaleguard("scaleguard, no cluster view", withConditions, harness.Options{})
			c.kinds, c.mutates = []string{"dep"}, false
			c.doc = "the same configurations and `--cluster-view=false`; Deployments only. Since no compliant create reaches scaleguard, " +
				"its difference from the row above is what the cluster view costs."
			return c
		}(),
		kyverno("Kyverno ValidatingPolicy", "Kyverno v1.19.1 (`make kyverno`, run out of cluster with `--serverIP`, the chart's defaults for the rest, "+
			"admission reports on) with the requests rule as a ValidatingPolicy (CEL); Deployments only.",
			(*kyvernoProcess).on, (*kyvernoProcess).off),
		kyverno("Kyverno ClusterPolicy", "the same Kyverno with the rule as a ClusterPolicy (a validate pattern); Deployments only.",
			(*kyvernoProcess).onClusterPolicy, (*kyvernoProcess).offClusterPolicy),
	}
	configs = slices.DeleteFunc(configs, func(c config) bool { return !focus.wants(c.name) })
	if err := focus.unknown(configs); err != nil {
		t.Fatal(err)
	}
	// Forward then backward, so that a slow start or a growing etcd weighs
	// on each alike.
	results := map[string][]run{}
	mixed := map[string]*verdicts{}
	hpaChecks := map[string]*hpaCheck{}
	for round := range rounds {
		seq := append([]config(nil), configs...)
		if round%2 == 1 {
			slices.Reverse(seq)
		}
		for _, cfg := range seq {
			if cfg.rounds > 0 && round >= cfg.rounds {
				continue
			}
			t0 := time.Now()
			webhookPID := cfg.on()
			started := time.Since(t0)
			if cfg.mutates {
				eventually(t, cfg.name+" gives a bare HPA minReplicas 2", bareMinReplicas(2))
			}
			processes := []process{
				{"kube-apiserver", apiserver},
				{"etcd", etcd},
				{"webhook", webhookPID},
				{"client", os.Getpid()},
			}
			var used []string
			for _, k := range kinds {
				if !cfg.runs(k) || !focus.measures(k) {
					continue
				}
				ns := namespace(t, bed.Client, fmt.Sprintf("r%d-%s-%s", round, k.key, slug(cfg.name)))
				used = append(used, ns)
				if k.needs != nil {
					if r, errs := creates(bed.Client, "needs", ns, perRound, concurrency, k.needs); r.failures > 0 {
						t.Fatalf("%s: %d of what the %s need failed, such as: %v", cfg.name, r.failures, k.name, firstError(errs))
					}
					// Let a cluster view see them before anything is timed.
					time.Sleep(time.Second)
				}
				before := cpuTimes(t, processes)
				r, errs := creates(bed.Client, cfg.name, ns, perRound, concurrency, k.object)
				after := cpuTimes(t, processes)
				r.round = round
				r.cpu = map[string]time.Duration{}
				for p, d := range after {
					r.cpu[p] = (d - before[p]) / perRound
				}
				switch {
				case k.mixed:
					if mixed[cfg.name] == nil {
						mixed[cfg.name] = &verdicts{}
					}
					for _, w := range capped(mixed[cfg.name].add(ns, errs, cfg.refusal)) {
						t.Errorf("%s, %s: %s", cfg.name, k.name, w)
					}
				case r.failures > 0:
					t.Errorf("%s, %s: %d creates failed, such as: %v", cfg.name, k.name, r.failures, firstError(errs))
				}
				if k.key == "hpa" {
					checkHPAs(t, bed.Client, cfg, ns, standard, hpaChecks)
				}
				results[k.key+"/"+cfg.name] = append(results[k.key+"/"+cfg.name], r)
			}
			cfg.off()
			// What the round created goes, once its webhook is gone: every
			// round then starts from the same store, and a scaleguard start
			// (its audit scans everything) does not grow round by round.
			for _, ns := range used {
				for _, o := range []client.Object{&appsv1.Deployment{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
					if err := bed.Client.DeleteAllOf(ctx, o, client.InNamespace(ns)); err != nil {
						t.Fatalf("emptying %s: %v", ns, err)
					}
				}
			}
			eventually(t, "back to no policy", admitted)
			t.Logf("round %d, %s: %v to start, %v in all", round, cfg.name, started.Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond))
		}
	}
	took := time.Since(began)
	t.Logf("%d rounds in %v", rounds, took.Round(time.Second))
	section := report(focus, configs, results, mixed, hpaChecks, rounds, perRound, concurrency)
	t.Log("\n" + section)
	if err := load.WriteSection(filepath.Join(root, "docs", "PERFORMANCE.md"), focus.heading(), section); err != nil {
		t.Fatal(err)
	}
}

// checkHPAs reads back the HPAs of an HPA run of cfg in ns; when cfg
// mutates, it first creates bareHPAs bare ones, each with its own
// Deployment. Every one must be stored with the standard's spec.
func checkHPAs(t *testing.T, c client.Client, cfg config, ns string, standard autoscalingv2.HorizontalPodAutoscalerSpec, checks map[string]*hpaCheck) {
	t.Helper()
	ctx := context.Background()
	if cfg.mutates {
		for i := range bareHPAs {
			name := fmt.Sprintf("bare-%02d", i)
			if err := c.Create(ctx, harness.Deployment(ns, name, true)); err != nil {
				t.Fatalf("%s: %v", cfg.name, err)
			}
			if err := c.Create(ctx, bareHPA(ns, name)); err != nil {
				t.Errorf("%s: a bare HPA refused: %v", cfg.name, err)
			}
		}
	}
	if checks[cfg.name] == nil {
		checks[cfg.name] = &hpaCheck{}
	}
	wrong, err := readBack(ctx, c, ns, standard, checks[cfg.name])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range capped(wrong) {
		t.Errorf("%s: %s", cfg.name, w)
	}
}

// capped keeps the first five of a list of failures.
func capped(xs []string) []string { return xs[:min(len(xs), 5)] }

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
