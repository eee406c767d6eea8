package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
	"github.com/scaleguard/scaleguard/webhook"
)

// The resources only scaleguard's view watches in the test bed
// (kube-apiserver's own informers watch namespaces, LimitRanges and quotas
// too, so those counts would not be scaleguard's alone). Deployments are
// counted but not watched: the view reads them on demand (a GET, or a
// namespace's LIST for selector-overlap), so their LISTs are reviews'.
var (
	watchedByViewOnly = []string{"horizontalpodautoscalers", "poddisruptionbudgets"}
	viewOnlyResources = append([]string{"deployments"}, watchedByViewOnly...)
)

// TestAPIServerRestart is R9: kube-apiserver and etcd are stopped and
// started again (etcd's data kept) while Deployments are written through
// them and scaleguard's cluster view holds -restart-objects Deployments and
// as many HPAs. It checks that
//
//   - while the view's watches are down, a rule that needs the cluster
//     answers "not checked" (a warning, the review allowed) instead of
//     judging against a store that may miss changes: a duplicate HPA, which
//     the synced view denies;
//   - the view is current again after the restart, and how long that took;
//   - the restarted API server was asked for at most one full list of each
//     resource the view holds (its watch cache starts empty, so the old
//     resourceVersion is too old and one re-list is due), not a storm;
//   - afterwards every verdict equals a freshly started scaleguard's, for
//     objects made before the restart and while the view caught up.
func TestAPIServerRestart(t *testing.T) {
	// Without a watch grace period kube-apiserver keeps every watch open
	// through its graceful stop until envtest kills it 20 s later; with one
	// it closes them, as a restart in a cluster does.
	bed := testbed.Start(t, testbed.Options{APIServerFlags: map[string][]string{"shutdown-watch-termination-grace-period": {"2s"}}})
	ctx := context.Background()
	const ns = "restart"
	if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	n := *restartObjects
	start := time.Now()
	createPairs(t, bed.Client, ns, "before", n, true)
	t.Logf("created %d Deployments and %d HPAs in %s", n, n, since(start, time.Now()))

	sg, webhooks := harness.StartStandard(t, env.binary, harness.Options{Kubeconfig: bed.Kubeconfig})
	webhooks.SetValidatingFailurePolicy(admissionregistrationv1.Fail)
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitForWebhook(ctx, bed.Client, ns, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	first := viewRequests(t, bed)
	t.Logf("first API server, since its start: %s", first)

	l := startLoad(t, bed.Config, ns, *writeRate/4)
	sleep(ctx, time.Second)

	// Down: the view's watches fail; the cross-object rules must say so.
	stopping := time.Now()
	if err := bed.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	if err := sg.WaitMetric(ctx, "scaleguard_cluster_view_synced", 10*time.Second, func(v float64) bool { return v == 0 }); err != nil {
		t.Fatalf("the cluster view still reports synced with the API server down: %v", err)
	}
	unsynced := time.Since(down)
	// The synced gauge falls with the first broken watch; the HPA watch
	// may break hundreds of milliseconds later (the API server closes its
	// watches one by one while it stops). Until it does, a denial judged
	// from a view current a moment ago is right; once it has, the verdict
	// must say "not checked" instead of judging.
	dup := hpaReview(t, ns, "dup-before-0", "before-0")
	tries, denied := 0, 0
	harness.Eventually(t, 10*time.Second, "a duplicate HPA reviewed while the API server is down is allowed with a duplicate-hpa \"not checked\" warning", func() error {
		out := review(t, sg, dup)
		tries++
		if !out.Allowed {
			denied++
		}
		if out.Allowed && slices.ContainsFunc(out.Warnings, func(w string) bool {
			return strings.Contains(w, "[duplicate-hpa]") && strings.Contains(w, "not checked")
		}) {
			return nil
		}
		return fmt.Errorf("allowed %v, warnings %q", out.Allowed, out.Warnings)
	})
	t.Logf("duplicate HPA while down: %d reviews until \"not checked\" (%d denied from the view before the HPA watch broke)", tries, denied)

	// Up again: objects made while the view catches up must be seen.
	if err := bed.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	const after = 10
	createPairs(t, bed.Client, ns, "after", after, true)
	if err := sg.WaitMetric(ctx, "scaleguard_cluster_view_synced", 5*time.Minute, func(v float64) bool { return v == 1 }); err != nil {
		t.Fatal(err)
	}
	resynced := time.Since(up)
	restarted := viewRequests(t, bed)
	s := l.stop(t, bed.Client)
	t.Logf("API server stopping for %s, then down for %s (the view reported unsynced %s after it was down); view current again %s after the API server answered",
		down.Sub(stopping).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond), unsynced.Round(time.Millisecond), resynced.Round(time.Millisecond))
	t.Logf("restarted API server, since its start: %s", restarted)
	// The view's own account: when each watch broke and how it came back.
	if log, err := os.ReadFile(sg.LogPath()); err == nil {
		for line := range strings.Lines(string(log)) {
			if strings.Contains(line, "watch interrupted") || strings.Contains(line, "watch current again") {
				t.Logf("scaleguard: %s", strings.TrimSpace(line))
			}
		}
	}
	s.log(t, "writes through the restart")
	for _, kind := range s.failureKinds() {
		t.Logf("writes through the restart: failure: %s", kind)
	}
	if s.violatingStored > 0 {
		t.Errorf("%d violating Deployments stored through the restart", s.violatingStored)
	}
	// One full list of n objects is n/500 pages (listReduced), or one
	// streamed list (watch-list); more is a storm.
	for _, r := range watchedByViewOnly {
		pages := (n+after)/500 + 1
		if got := restarted.lists[r]; got > pages {
			t.Errorf("%s: %d LIST requests to the restarted API server, more than one full list (%d pages)", r, got, pages)
		}
		if got := restarted.streamed[r]; got > 1 {
			t.Errorf("%s: %d streamed lists (watch-list) from the restarted API server, more than one", r, got)
		}
	}

	// Every verdict equals a fresh view's.
	fresh, _ := harness.StartStandard(t, env.binary, harness.Options{Kubeconfig: bed.Kubeconfig})
	var reviews []*admissionv1.AdmissionReview
	for i := range after {
		reviews = append(reviews, hpaReview(t, ns, fmt.Sprintf("dup-after-%d", i), fmt.Sprintf("after-%d", i)))
	}
	for _, i := range sample(n, 50) {
		reviews = append(reviews, hpaReview(t, ns, fmt.Sprintf("dup-before-%d", i), fmt.Sprintf("before-%d", i)))
	}
	wrong, reasked, reaskedFresh := 0, 0, 0
	for _, r := range reviews {
		got, again := reviewChecked(t, sg, r)
		want, againFresh := reviewChecked(t, fresh, r)
		reasked += again
		reaskedFresh += againFresh
		if got.Allowed || want.Allowed || got.Result.Message != want.Result.Message || !slices.Equal(got.Warnings, want.Warnings) {
			wrong++
			if wrong <= 3 {
				t.Errorf("HPA %s on %s after the resync: allowed %v (%s), warnings %q; a fresh scaleguard: allowed %v (%s), warnings %q; both must deny it as a duplicate",
					r.Request.Name, r.Request.Name[len("dup-"):], got.Allowed, got.Result.Message, got.Warnings, want.Allowed, want.Result.Message, want.Warnings)
			}
		}
	}
	t.Logf("after the resync: %d of %d duplicate-HPA verdicts differ from a fresh scaleguard's or are not denials (answers with a \"not checked\" warning asked again: %d of the restarted process, %d of the fresh one)",
		wrong, len(reviews), reasked, reaskedFresh)
}

// reviewChecked is review, asked again while the answer says a rule was
// not checked (for up to 30 s): a lookup of a workload in the API server
// that timed out under load stops the next for 5 s (cluster/live.go), in
// a fresh process as in the restarted one, and that is no verdict of the
// view's. It returns the answer and how many answers it asked past.
func reviewChecked(t *testing.T, sg *harness.Scaleguard, r *admissionv1.AdmissionReview) (*admissionv1.AdmissionResponse, int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for again := 0; ; again++ {
		out := review(t, sg, r)
		if !slices.ContainsFunc(out.Warnings, func(w string) bool { return strings.Contains(w, "not checked") }) || time.Now().After(deadline) {
			return out, again
		}
		time.Sleep(time.Second)
	}
}

// createPairs creates n Deployments prefix-i and an HPA of the same name
// for each, 16 at a time.
func createPairs(t *testing.T, c client.Client, ns, prefix string, n int, hpa bool) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("%s-%d", prefix, i)
				err := createRetrying(c, harness.Deployment(ns, name, true))
				if err == nil && hpa {
					err = createRetrying(c, harness.HPA(ns, name))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("creating %s objects: %d failed; the first: %v", prefix, len(errs), errs[0])
	}
}

// createRetrying retries a create the API server refused because it was
// still starting (or not reachable yet) for up to a minute.
func createRetrying(c client.Client, obj client.Object) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		err := c.Create(ctx, obj)
		cancel()
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "connection refused") && !strings.Contains(err.Error(), "the server is currently unable") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sample is up to k indexes of n spread evenly.
func sample(n, k int) []int {
	if n <= k {
		k = n
	}
	out := make([]int, 0, k)
	for i := range k {
		out = append(out, i*n/k)
	}
	return out
}

// hpaReview is the validating review of creating HPA name scaling the
// Deployment target, as the API server sends it.
func hpaReview(t *testing.T, ns, name, target string) *admissionv1.AdmissionReview {
	t.Helper()
	obj := harness.HPA(ns, target)
	obj.Name = name
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	kind := metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
	res := metav1.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("r9-" + name), Kind: kind, Resource: res, RequestKind: &kind, RequestResource: &res,
			Namespace: ns, Name: name, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	}
}

// review posts r to sg's validating HPA webhook, as the API server would,
// and returns the response.
func review(t *testing.T, sg *harness.Scaleguard, r *admissionv1.AdmissionReview) *admissionv1.AdmissionResponse {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sg.CABundle)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(sg.URL()+webhook.PathValidateHPA, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("review of %s: %v", r.Request.Name, err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		t.Fatalf("review of %s: HTTP %d, %v", r.Request.Name, resp.StatusCode, err)
	}
	if out.Response.Result == nil {
		out.Response.Result = &metav1.Status{}
	}
	slices.Sort(out.Response.Warnings)
	return out.Response
}

// viewCounts are what one API server process was asked for the resources
// only the view reads, since that process started.
type viewCounts struct {
	lists, streamed, watches map[string]int
}

func (c viewCounts) String() string {
	var parts []string
	for _, r := range viewOnlyResources {
		parts = append(parts, fmt.Sprintf("%s: %d LIST, %d streamed lists, %d watches", r, c.lists[r], c.streamed[r], c.watches[r]))
	}
	return strings.Join(parts, "; ")
}

// viewRequests reads the API server's own counters: LIST requests
// (apiserver_request_total), streamed lists (watch-list:
// apiserver_watch_list_duration_seconds_count) and watches registered
// (apiserver_longrunning_requests gauges only what is open; the request
// counter counts WATCH at its end, so both are read).
func viewRequests(t *testing.T, bed *testbed.Testbed) viewCounts {
	t.Helper()
	body, err := bed.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := viewCounts{lists: map[string]int{}, streamed: map[string]int{}, watches: map[string]int{}}
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(series, "#") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			continue
		}
		for _, r := range viewOnlyResources {
			if !strings.Contains(series, `resource="`+r+`"`) {
				continue
			}
			switch {
			case strings.HasPrefix(series, "apiserver_request_total{") && strings.Contains(series, `verb="LIST"`):
				c.lists[r] += int(v)
			case strings.HasPrefix(series, "apiserver_watch_list_duration_seconds_count{"):
				c.streamed[r] += int(v)
			case strings.HasPrefix(series, "apiserver_longrunning_requests{") && strings.Contains(series, `verb="WATCH"`):
				c.watches[r] += int(v)
			}
		}
	}
	return c
}
