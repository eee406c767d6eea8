package faults

import (
	"context"

	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// maxInFlight bounds the writes of the load in flight; a tick that finds
// them all busy is counted as behind, not sent late.
const maxInFlight = 128

// TestReplicas runs the chart's replicas behind its Service, the API
// server resolving the Service to the ready endpoints of its EndpointSlice
// (--enable-aggregator-routing), under a steady load of writes of which
// every one is a call to a replica (no matchConditions, failurePolicy Fail
// on every webhook):
//
//   - R7, rolling restart: each replica in turn gets SIGTERM and is
//     started again once it has exited, the next one once it is listed
//     ready. No write may fail and no violating Deployment may be stored.
//   - R8, SIGKILL of one replica: the writes that fail are counted, with
//     the API server's own count of webhook call errors, and the time until
//     the dead endpoint is dropped; no write sent after the drop may fail.
func TestReplicas(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	chart := renderChart(t, bed)
	chart.check(t)
	rs := startReplicas(t, bed, chart)
	if err := bed.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "replicas-probe"}}); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitForWebhook(context.Background(), bed.Client, "replicas-probe", 30*time.Second); err != nil {
		t.Fatal(err)
	}

	t.Run("RollingRestart", func(t *testing.T) {
		ns := newNamespace(t, bed, "rolling")
		l := startLoad(t, bed.Config, ns, *writeRate)
		sleep(context.Background(), 2*time.Second)
		for round := range *rollingRounds {
			for i, sg := range rs.replicas {
				start := time.Now()
				if err := sg.Stop(); err != nil {
					t.Fatal(err)
				}
				exited := time.Since(start)
				unlisted := rs.endpoints.lastChange(i, false, start)
				if unlisted.IsZero() || unlisted.Sub(start) > exited {
					t.Errorf("round %d, replica %d: the process exited %s after SIGTERM, before its endpoint was dropped from the EndpointSlice", round, i, exited.Round(time.Millisecond))
				}
				if err := sg.Restart(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := rs.endpoints.waitListed(i, true, 30*time.Second); err != nil {
					t.Fatal(err)
				}
				t.Logf("round %d, replica %d: SIGTERM → endpoint dropped %s, exited %s, listed ready again %s",
					round, i, since(start, unlisted), exited.Round(time.Millisecond), since(start, rs.endpoints.lastChange(i, true, start)))
			}
		}
		sleep(context.Background(), 2*time.Second)
		s := l.stop(t, bed.Client)
		s.log(t, "rolling restart")
		if len(s.failed) > 0 {
			t.Errorf("rolling restart: %d of %d writes failed; the first: %s", len(s.failed), s.sent, s.failed[0])
		}
		if s.violatingStored > 0 {
			t.Errorf("rolling restart: %d violating Deployments stored", s.violatingStored)
		}
	})

	t.Run("SIGKILL", func(t *testing.T) {
		ns := newNamespace(t, bed, "sigkill")
		before := webhookCallErrors(t, bed)
		l := startLoad(t, bed.Config, ns, *writeRate)
		sleep(context.Background(), 2*time.Second)
		const victim = 0
		killed := time.Now()
		if err := rs.replicas[victim].Kill(); err != nil {
			t.Fatal(err)
		}
		if err := rs.endpoints.waitListed(victim, false, time.Minute); err != nil {
			t.Fatal(err)
		}
		dropped := rs.endpoints.lastChange(victim, false, killed)
		sleep(context.Background(), *afterKill)
		s := l.stop(t, bed.Client)
		if err := rs.replicas[victim].Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := rs.endpoints.waitListed(victim, true, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		after := webhookCallErrors(t, bed)
		s.log(t, "SIGKILL of one replica")
		var lastFailure time.Time
		late := 0
		for _, w := range s.failed {
			lastFailure = maxTime(lastFailure, w.end)
			// The API server's informer sees the EndpointSlice a moment
			// after it is written; a write sent later than that went
			// through a live replica.
			if w.start.After(dropped.Add(time.Second)) {
				late++
			}
		}
		detect := time.Duration(chart.failureThreshold)*chart.probePeriod + chart.probeTimeout
		t.Logf("SIGKILL: %d writes failed (the API server counted %v webhook call errors: %s); endpoint dropped %s after the kill (the probe's bound %s); last failure ended %s after it",
			len(s.failed), after-before, "no retry absorbs a refused or reset call", since(killed, dropped), detect, since(killed, lastFailure))
		for _, kind := range s.failureKinds() {
			t.Logf("SIGKILL: failure: %s", kind)
		}
		if late > 0 {
			t.Errorf("SIGKILL: %d writes sent more than 1 s after the dead endpoint was dropped failed: the API server still routed to it", late)
		}
		if s.violatingStored > 0 {
			t.Errorf("SIGKILL: %d violating Deployments stored under failurePolicy Fail", s.violatingStored)
		}
		if d := dropped.Sub(killed); d > detect+chart.probePeriod {
			t.Errorf("SIGKILL: the dead endpoint was dropped %s after the kill, later than the probe allows (%s)", d, detect+chart.probePeriod)
		}
	})
}

func newNamespace(t *testing.T, bed *testbed.Testbed, name string) string {
	t.Helper()
	if err := bed.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// write is one create of the load.
type write struct {
	name       string
	compliant  bool
	start, end time.Time
	err        error
}

func (w write) String() string {
	return fmt.Sprintf("%s (compliant %v, after %s): %v", w.name, w.compliant, w.end.Sub(w.start).Round(time.Millisecond), w.err)
}

// writeLoad creates Deployments at a steady rate, every other one without
// requests, until stopped.
type writeLoad struct {
	stopLoad context.CancelFunc
	done     chan struct{}
	ns       string
	rate     int
	started  time.Time

	mu     sync.Mutex
	writes []write
	behind int
}

func startLoad(t *testing.T, cfg *rest.Config, ns string, rate int) *writeLoad {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0 // the load paces itself
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &writeLoad{stopLoad: stop, done: make(chan struct{}), ns: ns, rate: rate, started: time.Now()}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		slots := make(chan struct{}, maxInFlight)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				l.mu.Lock()
				l.behind++
				l.mu.Unlock()
				continue
			}
			wg.Go(func() {
				defer func() { <-slots }()
				w := write{name: fmt.Sprintf("w-%06d", i), compliant: i%2 == 0, start: time.Now()}
				callCtx, cancel := context.WithTimeout(context.Background(), callTimeout)
				w.err = c.Create(callCtx, harness.Deployment(ns, w.name, w.compliant))
				cancel()
				w.end = time.Now()
				l.mu.Lock()
				l.writes = append(l.writes, w)
				l.mu.Unlock()
			})
		}
	}()
	return l
}

// loadSummary is what became of the writes.
type loadSummary struct {
	sent, behind, rate             int
	duration                       time.Duration
	admitted, denied               int
	failed                         []write
	violatingStored, notStoredOnOK int
}

// stop ends the load, waits for the writes in flight and compares what
// each was told with what the API server stored.
func (l *writeLoad) stop(t *testing.T, c client.Client) loadSummary {
	t.Helper()
	l.stopLoad()
	<-l.done
	var list appsv1.DeploymentList
	if err := c.List(context.Background(), &list, client.InNamespace(l.ns)); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, d := range list.Items {
		stored[d.Name] = true
	}
	s := loadSummary{sent: len(l.writes), behind: l.behind, rate: l.rate, duration: time.Since(l.started)}
	for _, w := range l.writes {
		if !w.compliant && stored[w.name] {
			s.violatingStored++
		}
		switch {
		case w.err == nil && w.compliant:
			s.admitted++
			if !stored[w.name] {
				s.notStoredOnOK++
			}
		case w.err != nil && !w.compliant && strings.Contains(w.err.Error(), denied):
			s.denied++
		default: // a compliant write refused, or a violating one not denied
			s.failed = append(s.failed, w)
		}
	}
	slices.SortFunc(s.failed, func(a, b write) int { return a.start.Compare(b.start) })
	if s.notStoredOnOK > 0 {
		t.Errorf("%d writes were answered as created but are not stored", s.notStoredOnOK)
	}
	return s
}

func (s loadSummary) log(t *testing.T, what string) {
	t.Logf("%s: %d writes in %s (%.0f/s sent, %d ticks behind with %d in flight); %d compliant admitted, %d violating denied by scaleguard, %d failed, %d violating stored",
		what, s.sent, s.duration.Round(time.Millisecond), float64(s.sent)/s.duration.Seconds(), s.behind, maxInFlight,
		s.admitted, s.denied, len(s.failed), s.violatingStored)
	if s.behind > 0 {
		t.Logf("%s: the machine did not sustain %d writes/s: %d ticks found %d writes in flight and were skipped", what, s.rate, s.behind, maxInFlight)
	}
}

// failureKinds groups the failures by the end of their message (the cause
// the API server reports), with a count and the first example.
func (s loadSummary) failureKinds() []string {
	counts := map[string]int{}
	var order []string
	for _, w := range s.failed {
		msg := w.err.Error()
		kind := msg
		for _, cause := range []string{"connection refused", "connection reset by peer", "EOF", "context deadline exceeded", "no endpoints available", "i/o timeout"} {
			if strings.Contains(msg, cause) {
				kind = cause
				break
			}
		}
		if counts[kind] == 0 {
			order = append(order, kind)
		}
		counts[kind]++
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, fmt.Sprintf("%d × %s", counts[k], k))
	}
	return out
}

// webhookCallErrors is the API server's count of admission webhook calls
// that failed (apiserver_admission_webhook_rejection_count with
// error_type calling_webhook_error).
func webhookCallErrors(t *testing.T, bed *testbed.Testbed) float64 {
	t.Helper()
	body, err := bed.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(series, "apiserver_admission_webhook_rejection_count{") || !strings.Contains(series, `error_type="calling_webhook_error"`) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err == nil {
			sum += v
		}
	}
	return sum
}

func since(start, at time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return at.Sub(start).Round(time.Millisecond).String()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
