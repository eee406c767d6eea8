package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// The messages a create may end with while scaleguard comes and goes: its
// own denial, or the API server saying it could not reach it. Anything else
// is not a clear refusal.
const (
	denied      = `admission webhook "workload.validate.scaleguard.io" denied the request: scaleguard refused`
	unreachable = `failed calling webhook "workload.validate.scaleguard.io"`
	// softened is the warning of a violation scaleguard admits because it
	// cannot yet know the namespace's LimitRanges (its cluster view has not
	// synced since it started).
	softened = "[requests-required]"
)

// Kill loop pacing: creates per second, and how long scaleguard stays up
// and down between SIGKILLs.
const (
	createRate  = 40
	creators    = 4
	upMin       = 250 * time.Millisecond
	upMax       = 750 * time.Millisecond
	downMax     = 150 * time.Millisecond
	callTimeout = 15 * time.Second
)

// TestKillDuringApplyLoop is R3: scaleguard is SIGKILLed and restarted
// again and again while Deployments, half of them without requests, are
// created through the API server. The webhook configurations carry the
// matchConditions of the standard, so a compliant create never reaches
// scaleguard: under either failure policy none may be refused, even while
// scaleguard is down. With failurePolicy Fail no violating Deployment may be
// stored and every refusal must be scaleguard's denial or the API server's
// "failed calling webhook"; with Ignore the violations stored while
// scaleguard was down must all be reported by its audit. It also measures
// how long scaleguard takes, from the start of a new process, to answer
// through the API server again.
func TestKillDuringApplyLoop(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := context.Background()
	// scaleguard watches the test bed, as it watches its cluster in a pod.
	var opts harness.Options
	if *clusterView {
		opts.Kubeconfig = bed.Kubeconfig
	}
	sg, webhooks := harness.StartStandard(t, env.binary, opts)

	for _, policy := range []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore} {
		t.Run(string(policy), func(t *testing.T) {
			webhooks.SetValidatingFailurePolicy(policy)
			if err := webhooks.Apply(ctx, bed.Client); err != nil {
				t.Fatal(err)
			}
			ns := "faults-" + strings.ToLower(string(policy))
			if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				t.Fatal(err)
			}
			probe := newCaller(t, bed.Config)
			waitForPolicy(t, sg, probe, ns, policy)

			start := time.Now()
			res := killLoop(t, bed.Config, sg, probe, ns, *objects)
			t.Logf("%d creates in %v with %d SIGKILLs", *objects, time.Since(start).Round(time.Millisecond), len(res.restarts))
			storedViolating := checkStored(t, bed.Client, ns, policy, res)
			reportRestarts(t, res.restarts)
			if policy == admissionregistrationv1.Ignore {
				checkAudit(t, sg, ns, storedViolating)
			}
		})
	}
}

// caller creates objects and keeps the warnings of its last call.
type caller struct {
	client   client.Client
	mu       sync.Mutex
	warnings []string
}

func newCaller(t *testing.T, cfg *rest.Config) *caller {
	c := &caller{}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1 // no client-side throttling: the loop paces itself
	cfg.WarningHandler = c
	var err error
	if c.client, err = client.New(cfg, client.Options{Scheme: scheme.Scheme}); err != nil {
		t.Fatal(err)
	}
	return c
}

// HandleWarningHeader implements rest.WarningHandler.
func (c *caller) HandleWarningHeader(_ int, _ string, text string) {
	c.mu.Lock()
	c.warnings = append(c.warnings, text)
	c.mu.Unlock()
}

// create creates obj and returns the warnings it got and the error.
func (c *caller) create(ctx context.Context, obj client.Object, opts ...client.CreateOption) ([]string, error) {
	c.mu.Lock()
	c.warnings = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := c.client.Create(ctx, obj, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warnings), err
}

// answered probes with a dry-run create of a violating Deployment: did
// scaleguard answer through the API server, and did it deny?
func (c *caller) answered(ctx context.Context, ns string) (answered, denies bool) {
	warnings, err := c.create(ctx, harness.Deployment(ns, "probe", false), client.DryRunAll)
	switch {
	case err != nil && strings.Contains(err.Error(), denied):
		return true, true
	case err == nil && slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, softened) }):
		return true, false
	}
	return false, false
}

// waitForPolicy makes sure the API server applies the failure policy
// before the loop: with scaleguard down, a violating dry run must fail
// (Fail) or pass (Ignore).
func waitForPolicy(t *testing.T, sg *harness.Scaleguard, c *caller, ns string, policy admissionregistrationv1.FailurePolicyType) {
	ctx := context.Background()
	if err := sg.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.create(ctx, harness.Deployment(ns, "policy-probe", false), client.DryRunAll)
		if (policy == admissionregistrationv1.Fail && err != nil && strings.Contains(err.Error(), unreachable)) ||
			(policy == admissionregistrationv1.Ignore && err == nil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failurePolicy %s not in force after 30s (last answer: %v)", policy, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := sg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, denies := c.answered(ctx, ns); denies {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("scaleguard does not deny through the API server 30s after its restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func compliantAt(i int) bool { return i%2 == 1 }

// restart is one SIGKILL and what followed, measured from the start of the
// new process.
type restart struct {
	// ready is when /readyz answered and the cluster view had synced
	// (harness.Restart returned).
	ready time.Duration
	// answer is the first call through the API server that scaleguard
	// answered; deny the first that it denied (a violating probe is only
	// denied once the namespace's LimitRanges are known). Zero: none before
	// the next kill.
	answer, deny time.Duration
	// admitted counts violating probes scaleguard admitted (with its
	// warning) before it denied one: each would have been stored.
	admitted int
}

// outcome is what became of one create.
type outcome struct {
	compliant bool
	err       error
	// softened is scaleguard's warning when it stored a violation it could
	// not judge yet; empty otherwise.
	softened string
}

type loopResult struct {
	outcomes []outcome
	restarts []restart
}

// killLoop creates n Deployments at createRate while another goroutine
// SIGKILLs and restarts scaleguard, and a third measures each restart.
func killLoop(t *testing.T, cfg *rest.Config, sg *harness.Scaleguard, probe *caller, ns string, n int) loopResult {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	res := loopResult{outcomes: make([]outcome, n)}
	var mu sync.Mutex // guards res.restarts and pending
	var pending time.Time

	var chaos sync.WaitGroup
	chaos.Go(func() { // the killer
		rng := rand.New(rand.NewPCG(7, 11))
		for ctx.Err() == nil {
			sleep(ctx, upMin+time.Duration(rng.Int64N(int64(upMax-upMin))))
			if ctx.Err() != nil {
				return
			}
			if err := sg.Kill(); err != nil {
				t.Error(err)
				return
			}
			sleep(ctx, time.Duration(rng.Int64N(int64(downMax))))
			start := time.Now()
			mu.Lock()
			res.restarts = append(res.restarts, restart{})
			pending = start
			mu.Unlock()
			// Not ctx: the last restart must finish so that scaleguard is up.
			if err := sg.Restart(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			res.restarts[len(res.restarts)-1].ready = time.Since(start)
			mu.Unlock()
		}
	})
	chaos.Go(func() { // the stopwatch
		for ctx.Err() == nil {
			mu.Lock()
			start, i := pending, len(res.restarts)-1
			mu.Unlock()
			if start.IsZero() {
				sleep(ctx, 10*time.Millisecond)
				continue
			}
			answered, denies := probe.answered(ctx, ns)
			took := time.Since(start)
			mu.Lock()
			if i == len(res.restarts)-1 { // no kill since the probe was sent
				r := &res.restarts[i]
				if answered && r.answer == 0 {
					r.answer = took
				}
				if answered && !denies {
					r.admitted++
				}
				if denies {
					r.deny = took
					pending = time.Time{}
				}
			}
			mu.Unlock()
			sleep(ctx, 10*time.Millisecond)
		}
	})

	work := make(chan int)
	var creates sync.WaitGroup
	for range creators {
		c := newCaller(t, cfg)
		creates.Go(func() {
			for i := range work {
				warnings, err := c.create(context.Background(), harness.Deployment(ns, fmt.Sprintf("app-%04d", i), compliantAt(i)))
				o := outcome{compliant: compliantAt(i), err: err}
				if j := slices.IndexFunc(warnings, func(w string) bool { return strings.Contains(w, softened) }); err == nil && j >= 0 {
					o.softened = warnings[j]
				}
				res.outcomes[i] = o
			}
		})
	}
	tick := time.NewTicker(time.Second / createRate)
	for i := range n {
		<-tick.C
		work <- i
	}
	tick.Stop()
	close(work)
	creates.Wait()
	stop()
	chaos.Wait()
	return res
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// checkStored compares what the loop was told with what the API server
// stored, asserts R3 for the failure policy and returns how many violating
// Deployments were stored.
func checkStored(t *testing.T, c client.Client, ns string, policy admissionregistrationv1.FailurePolicyType, res loopResult) int {
	var list appsv1.DeploymentList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, d := range list.Items {
		stored[d.Name] = true
	}
	var (
		storedViolating, storedSoftened, deniedByScaleguard, unreachableRefusals int
		compliant, compliantRefused, compliantDenied                             int
		unclear                                                                  []string
		softenedWarning                                                          string
		samples                                                                  = map[string]string{}
	)
	for i, o := range res.outcomes {
		name := fmt.Sprintf("app-%04d", i)
		if o.compliant {
			compliant++
		}
		switch {
		case o.err == nil:
			if !stored[name] {
				t.Errorf("%s: created, but not stored", name)
			}
			if !o.compliant {
				storedViolating++
				if o.softened != "" {
					storedSoftened++
					softenedWarning = o.softened
				}
			}
		case strings.Contains(o.err.Error(), denied):
			samples[denied] = o.err.Error()
			deniedByScaleguard++
			if o.compliant {
				compliantDenied++
			}
		case strings.Contains(o.err.Error(), unreachable):
			samples[unreachable] = o.err.Error()
			unreachableRefusals++
			if o.compliant {
				compliantRefused++
			}
		default:
			unclear = append(unclear, fmt.Sprintf("%s: %v", name, o.err))
			if o.compliant {
				compliantRefused++
			}
		}
		if o.err != nil && stored[name] {
			t.Errorf("%s: refused (%v), but stored", name, o.err)
		}
	}
	t.Logf("failurePolicy %s: %d creates; compliant: %d of %d admitted (%d refused with the API server's %q, %d denied by scaleguard); "+
		"stored %d of %d violating (%d of them admitted with scaleguard's %q warning); "+
		"refused: %d by scaleguard's denial, %d with the API server's %q; %d unclear",
		policy, len(res.outcomes), compliant-compliantRefused-compliantDenied, compliant, compliantRefused, "failed calling webhook", compliantDenied,
		storedViolating, len(res.outcomes)-compliant, storedSoftened, softened,
		deniedByScaleguard, unreachableRefusals, "failed calling webhook", len(unclear))
	for _, kind := range []string{denied, unreachable} {
		if m, ok := samples[kind]; ok {
			t.Logf("a refusal: %s", m)
		}
	}
	if softenedWarning != "" {
		t.Logf("scaleguard's warning on a stored violation: %s", softenedWarning)
	}
	for _, u := range unclear[:min(len(unclear), 5)] {
		t.Errorf("not a clear refusal: %s", u)
	}
	if compliantDenied > 0 {
		t.Errorf("scaleguard denied %d compliant Deployments", compliantDenied)
	}
	if compliantRefused > 0 {
		t.Errorf("failurePolicy %s: %d compliant Deployments were refused while scaleguard came and went; "+
			"the matchConditions should keep every compliant create from reaching it", policy, compliantRefused)
	}
	admittedProbes, restartsAdmitting := 0, 0
	for _, r := range res.restarts {
		admittedProbes += r.admitted
		if r.admitted > 0 {
			restartsAdmitting++
		}
	}
	t.Logf("after %d of %d restarts scaleguard admitted violating dry-run probes before denying one (%d probes in all)",
		restartsAdmitting, len(res.restarts), admittedProbes)
	switch policy {
	case admissionregistrationv1.Fail:
		if admittedProbes > 0 {
			t.Errorf("failurePolicy Fail: after %d restarts scaleguard admitted violating objects until its cluster view synced", restartsAdmitting)
		}
		if storedViolating > 0 {
			t.Errorf("failurePolicy Fail: %d Deployments without requests were stored (%d admitted with scaleguard's warning "+
				"that it could not judge them yet: the cluster view had not synced since the restart)", storedViolating, storedSoftened)
		}
	case admissionregistrationv1.Ignore:
		if unreachableRefusals > 0 {
			t.Errorf("failurePolicy Ignore: %d creates were refused because scaleguard was unreachable", unreachableRefusals)
		}
	}
	return storedViolating
}

func reportRestarts(t *testing.T, rs []restart) {
	var ready, answer, deny []time.Duration
	missed := 0
	for _, r := range rs {
		if r.ready > 0 {
			ready = append(ready, r.ready)
		}
		if r.answer > 0 {
			answer = append(answer, r.answer)
		}
		if r.deny > 0 {
			deny = append(deny, r.deny)
		} else {
			missed++
		}
	}
	t.Logf("restart → ready and cluster view synced: %s", spread(ready))
	t.Logf("restart → first call answered through the API server: %s", spread(answer))
	t.Logf("restart → first violating probe denied through the API server: %s (%d restarts killed before one was)", spread(deny), missed)
	if len(deny) == 0 && len(rs) > 0 {
		t.Error("no restart was followed by a denial before the next kill")
	}
}

// spread is min/median/max of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	slices.Sort(ds)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("min %s, median %s, max %s (n=%d)", ms(ds[0]), ms(ds[len(ds)/2]), ms(ds[len(ds)-1]), len(ds))
}
