package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// The chart's Service, as the generated webhook configurations call it.
var service = configuration.DefaultService()

// chartRollout is what the chart's rendered objects say about running
// several replicas: the test takes its timings from here, so a chart edit
// changes what is tested.
type chartRollout struct {
	replicas int
	// The readiness probe the kubelet runs (the test runs it instead).
	readinessPath                      string
	probePeriod, probeTimeout          time.Duration
	failureThreshold, successThreshold int
	// shutdownDelay is serve --shutdown-delay: answering with /readyz red.
	shutdownDelay time.Duration
	grace         time.Duration
	// webhookTimeout bounds one review in flight.
	webhookTimeout time.Duration
	// pdbMaxUnavailable and rolloutMaxUnavailable are how many replicas a
	// drain or a rollout may take down at once.
	pdbMaxUnavailable, rolloutMaxUnavailable int
	preStop                                  bool
	topologySpread                           bool
}

// renderChart renders the chart with its defaults through the test bed's
// helm and reads the rollout settings.
func renderChart(t *testing.T, bed *testbed.Testbed) chartRollout {
	t.Helper()
	res, err := bed.Helm(context.Background(), "template", "scaleguard", filepath.Join(env.root, "charts", "scaleguard"), "--namespace", service.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	var (
		dep  appsv1.Deployment
		pdb  policyv1.PodDisruptionBudget
		hook admissionregistrationv1.ValidatingWebhookConfiguration
		seen = map[string]bool{}
	)
	dec := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(res.Stdout)))
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		var into any
		switch meta.Kind {
		case "Deployment":
			into = &dep
		case "PodDisruptionBudget":
			into = &pdb
		case "ValidatingWebhookConfiguration":
			into = &hook
		default:
			continue
		}
		if err := yaml.Unmarshal(doc, into); err != nil {
			t.Fatalf("chart %s: %v", meta.Kind, err)
		}
		seen[meta.Kind] = true
	}
	for _, kind := range []string{"Deployment", "PodDisruptionBudget", "ValidatingWebhookConfiguration"} {
		if !seen[kind] {
			t.Fatalf("the chart renders no %s with its defaults", kind)
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	p := c.ReadinessProbe
	if p == nil || p.HTTPGet == nil {
		t.Fatal("the chart's container has no HTTP readiness probe")
	}
	r := chartRollout{
		replicas:         int(ptr.Deref(dep.Spec.Replicas, 1)),
		readinessPath:    p.HTTPGet.Path,
		probePeriod:      seconds(p.PeriodSeconds, 10),
		probeTimeout:     seconds(p.TimeoutSeconds, 1),
		failureThreshold: int(orDefault(p.FailureThreshold, 3)),
		successThreshold: int(orDefault(p.SuccessThreshold, 1)),
		grace:            seconds(int32(ptr.Deref(dep.Spec.Template.Spec.TerminationGracePeriodSeconds, 30)), 30),
		webhookTimeout:   seconds(ptr.Deref(hook.Webhooks[0].TimeoutSeconds, 10), 10),
		preStop:          c.Lifecycle != nil && c.Lifecycle.PreStop != nil,
	}
	for _, arg := range c.Args {
		if v, ok := strings.CutPrefix(arg, "--shutdown-delay="); ok {
			if r.shutdownDelay, err = time.ParseDuration(v); err != nil {
				t.Fatalf("chart: %s: %v", arg, err)
			}
		}
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		r.rolloutMaxUnavailable = intOrPercent(t, ru.MaxUnavailable, r.replicas)
	} else {
		r.rolloutMaxUnavailable = intOrPercent(t, ptr.To(intstr.FromString("25%")), r.replicas)
	}
	if pdb.Spec.MaxUnavailable != nil {
		r.pdbMaxUnavailable = intOrPercent(t, pdb.Spec.MaxUnavailable, r.replicas)
	} else if pdb.Spec.MinAvailable != nil {
		r.pdbMaxUnavailable = r.replicas - intOrPercent(t, pdb.Spec.MinAvailable, r.replicas)
	}
	for _, ts := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		r.topologySpread = r.topologySpread || (ts.TopologyKey == corev1.LabelHostname && ts.MaxSkew == 1)
	}
	return r
}

// check asserts the relations between the chart's settings that make a
// rollout or a drain lose no review. The test bed has one node and no
// scheduler, so topology spread is only checked to be there.
func (r chartRollout) check(t *testing.T) {
	t.Helper()
	detect := time.Duration(r.failureThreshold)*r.probePeriod + r.probeTimeout
	t.Logf("chart: %d replicas; readiness %s every %s (timeout %s, %d failures drop, %d success lists); shutdown delay %s; grace %s; webhook timeout %s; "+
		"PDB maxUnavailable %d; rollout maxUnavailable %d; topology spread over nodes %v",
		r.replicas, r.readinessPath, r.probePeriod, r.probeTimeout, r.failureThreshold, r.successThreshold, r.shutdownDelay, r.grace, r.webhookTimeout,
		r.pdbMaxUnavailable, r.rolloutMaxUnavailable, r.topologySpread)
	if r.readinessPath != "/readyz" {
		t.Errorf("chart: readiness probe %s, want /readyz (the check that turns red at shutdown)", r.readinessPath)
	}
	if r.replicas < 3 {
		t.Errorf("chart: %d replicas; three keep two answering while one restarts", r.replicas)
	}
	if r.pdbMaxUnavailable != 1 || r.rolloutMaxUnavailable != 0 {
		t.Errorf("chart: PDB maxUnavailable %d and rollout maxUnavailable %d; want 1 and 0, so a drain or a rollout takes one replica at a time",
			r.pdbMaxUnavailable, r.rolloutMaxUnavailable)
	}
	if r.shutdownDelay <= detect {
		t.Errorf("chart: --shutdown-delay=%s is not longer than the readiness probe takes to drop the endpoint (%d × %s + %s = %s): "+
			"the port would close while the API server still sends reviews to it", r.shutdownDelay, r.failureThreshold, r.probePeriod, r.probeTimeout, detect)
	}
	if r.grace < r.shutdownDelay+r.webhookTimeout {
		t.Errorf("chart: terminationGracePeriodSeconds %s is shorter than the shutdown delay plus one review (%s + %s): the kubelet would SIGKILL reviews in flight",
			r.grace, r.shutdownDelay, r.webhookTimeout)
	}
	if r.preStop {
		t.Error("chart: a preStop hook delays SIGTERM on top of --shutdown-delay; the test restarts with SIGTERM alone")
	}
	if !r.topologySpread {
		t.Error("chart: no topology spread of maxSkew 1 over kubernetes.io/hostname: one node could hold every replica")
	}
}

func seconds(s int32, def int32) time.Duration {
	if s == 0 {
		s = def
	}
	return time.Duration(s) * time.Second
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

func intOrPercent(t *testing.T, v *intstr.IntOrString, total int) int {
	t.Helper()
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, false)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// replicaAddresses adds n addresses of 198.18.0.0/15 (RFC 2544, for
// benchmarks) to the loopback interface and removes them when t ends. The
// API server refuses loopback (127.0.0.0/8) endpoints in an EndpointSlice,
// so each replica listens on an address of its own, as a pod does. It
// needs root; it fails t with what to do when it cannot.
func replicaAddresses(t *testing.T, n int) []string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("replica addresses: no `ip` command (iproute2) to add endpoint addresses to lo: %v", err)
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		if tries == 200 {
			t.Fatalf("replica addresses: no free address of 198.18.0.0/15 on lo after %d tries (see `ip -4 addr show dev lo`)", tries)
		}
		a := fmt.Sprintf("198.%d.%d.%d", 18+rng.IntN(2), rng.IntN(256), 1+rng.IntN(254))
		out, err := exec.Command("ip", "addr", "add", a+"/32", "dev", "lo").CombinedOutput()
		// Taken already (another run's): iproute2 says one or the other,
		// depending on its version. (Dialling the address is no test: a
		// sandbox's network may accept any connection to 198.18.0.0/15.)
		if strings.Contains(string(out), "File exists") || strings.Contains(string(out), "already assigned") {
			continue
		}
		if err != nil {
			t.Fatalf("replica addresses: `ip addr add %s/32 dev lo`: %v: %s\n"+
				"the replicas need non-loopback addresses for the Service's EndpointSlice; run as root (CI does) or with CAP_NET_ADMIN", a, err, bytes.TrimSpace(out))
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "addr", "del", a+"/32", "dev", "lo").CombinedOutput(); err != nil {
				t.Errorf("removing %s from lo: %v: %s", a, err, out)
			}
		})
		addrs = append(addrs, a)
	}
	return addrs
}

// replicaSet is n `scaleguard serve` processes behind the chart's Service,
// each on an address of its own with one serving certificate for the
// Service's name, and the EndpointSlice the test keeps as the kubelet and
// the EndpointSlice controller would.
type replicaSet struct {
	replicas  []*harness.Scaleguard
	endpoints *endpointController
	webhooks  harness.WebhookConfigs
}

// startReplicas starts the replicas with the chart's shutdown delay,
// creates the Service and its EndpointSlice, and points every webhook of
// the standard at the Service with failurePolicy Fail. The webhooks carry
// no matchConditions: every write of a matched kind, compliant or not, is a
// call to a replica.
func startReplicas(t *testing.T, bed *testbed.Testbed, chart chartRollout) *replicaSet {
	t.Helper()
	ctx := context.Background()
	addrs := replicaAddresses(t, chart.replicas)
	ca, err := harness.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	// The API server checks the Service's DNS name, not the address it dials.
	dnsName := service.Name + "." + service.Namespace + ".svc"
	cert, key, err := ca.IssueServing(2, []string{dnsName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := harness.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: service.Namespace}},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: service.Name, Namespace: service.Namespace},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
				Name: "https", Port: ptr.Deref(service.Port, 443), TargetPort: intstr.FromInt(ports[0]), Protocol: corev1.ProtocolTCP,
			}}},
		},
	} {
		if err := bed.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	rs := &replicaSet{}
	for i, a := range addrs {
		sg, err := harness.StartWith(ctx, env.binary, t.TempDir(), harness.Options{
			Host: a, Port: ports[0], CA: ca.PEM, Cert: cert, Key: key,
			Kubeconfig: bed.Kubeconfig,
			Args: []string{
				"--shutdown-delay=" + chart.shutdownDelay.String(),
				"--leader-elect", "--leader-election-namespace=" + service.Namespace,
				"--manage-webhook-conditions=false",
			},
		})
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { _ = sg.Kill() })
		rs.replicas = append(rs.replicas, sg)
	}
	rs.endpoints = newEndpointController(bed, chart, rs.replicas, ports[0])
	epCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rs.endpoints.run(epCtx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	for i := range rs.replicas {
		if err := rs.endpoints.waitListed(i, true, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	rs.webhooks = harness.NewWebhookConfigs(nil)
	for i := range rs.webhooks.Mutating.Webhooks {
		h := &rs.webhooks.Mutating.Webhooks[i]
		h.ClientConfig.CABundle = ca.PEM
		h.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	for i := range rs.webhooks.Validating.Webhooks {
		h := &rs.webhooks.Validating.Webhooks[i]
		h.ClientConfig.CABundle = ca.PEM
		h.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	if err := rs.webhooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	return rs
}

// probeClient is the kubelet's: plain HTTP, no keep-alive.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// endpointController plays the kubelet's readiness prober and the
// EndpointSlice controller for the replicas: it probes each replica's
// readiness endpoint at the chart's period, with its timeout and
// thresholds, and publishes every replica in one EndpointSlice with its
// ready condition, as the controller does. The API server's resolver picks
// a ready endpoint at random for each review (WebhookRoundTripLoadBalancing,
// on by default in 1.37).
type endpointController struct {
	bed      *testbed.Testbed
	chart    chartRollout
	replicas []*harness.Scaleguard
	port     int

	mu        sync.Mutex
	ready     []bool // what the kubelet last concluded
	published []bool // what the EndpointSlice says
	changes   []endpointChange
	slice     *discoveryv1.EndpointSlice
	changed   chan struct{}
}

// endpointChange is one replica listed ready or not, at the moment the
// API server accepted the EndpointSlice saying so.
type endpointChange struct {
	replica int
	ready   bool
	at      time.Time
}

func newEndpointController(bed *testbed.Testbed, chart chartRollout, replicas []*harness.Scaleguard, port int) *endpointController {
	return &endpointController{bed: bed, chart: chart, replicas: replicas, port: port,
		ready: make([]bool, len(replicas)), published: make([]bool, len(replicas)), changed: make(chan struct{}, 1)}
}

func (e *endpointController) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range e.replicas {
		wg.Go(func() { e.probe(ctx, i) })
	}
	// One writer publishes the slice whenever a replica's state changed.
	for {
		e.publish(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-e.changed:
		case <-time.After(e.chart.probePeriod):
		}
	}
}

// probe runs replica i's readiness probe: a replica starts not ready,
// becomes ready after successThreshold successes in a row and not ready
// after failureThreshold failures in a row.
func (e *endpointController) probe(ctx context.Context, i int) {
	tick := time.NewTicker(e.chart.probePeriod)
	defer tick.Stop()
	successes, failures := 0, 0
	for {
		ok := e.probeOnce(ctx, i)
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		e.mu.Lock()
		was := e.ready[i]
		if !was && successes >= e.chart.successThreshold {
			e.ready[i] = true
		}
		if was && failures >= e.chart.failureThreshold {
			e.ready[i] = false
		}
		if e.ready[i] != was {
			select {
			case e.changed <- struct{}{}:
			default:
			}
		}
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (e *endpointController) probeOnce(ctx context.Context, i int) bool {
	ctx, cancel := context.WithTimeout(ctx, e.chart.probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.replicas[i].ProbeAddr+e.chart.readinessPath, nil)
	if err != nil {
		return false
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// publish writes the EndpointSlice if it differs from the probes' view.
func (e *endpointController) publish(ctx context.Context) {
	e.mu.Lock()
	want := append([]bool(nil), e.ready...)
	same := e.slice != nil && slices.Equal(want, e.published)
	e.mu.Unlock()
	if same {
		return
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: service.Name + "-replicas", Namespace: service.Namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: service.Name,
				discoveryv1.LabelManagedBy:   "scaleguard-faults-test",
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(int32(e.port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for i, sg := range e.replicas {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{sg.Host},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(want[i]), Serving: ptr.To(want[i])},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: service.Namespace, Name: fmt.Sprintf("scaleguard-%d", i)},
		})
	}
	var err error
	if e.slice == nil {
		err = e.bed.Client.Create(ctx, slice)
	} else {
		slice.ResourceVersion = e.slice.ResourceVersion
		err = e.bed.Client.Update(ctx, slice)
	}
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "faults: publishing the EndpointSlice: %v\n", err)
		}
		return
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range want {
		if e.slice == nil || want[i] != e.published[i] {
			e.changes = append(e.changes, endpointChange{replica: i, ready: want[i], at: now})
		}
	}
	e.slice, e.published = slice, want
}

// waitListed waits until the EndpointSlice lists replica i as ready (or
// not).
func (e *endpointController) waitListed(i int, ready bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		e.mu.Lock()
		ok := e.slice != nil && e.published[i] == ready
		e.mu.Unlock()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %d (%s) not listed with ready=%v in the EndpointSlice after %s", i, e.replicas[i].Host, ready, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastChange is when replica i was last listed with ready, zero if never
// since after.
func (e *endpointController) lastChange(i int, ready bool, after time.Time) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	for j := len(e.changes) - 1; j >= 0; j-- {
		c := e.changes[j]
		if c.replica == i && c.ready == ready && c.at.After(after) {
			return c.at
		}
	}
	return time.Time{}
}
