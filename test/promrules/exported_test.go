package promrules

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// kubeStateMetrics are the kube-state-metrics series the chart's
// scaleguard.hpa alerts read. No kube-state-metrics runs here (its module
// does not resolve from this machine's proxy), so these names alone are
// taken on trust, from its documentation
// (docs/metrics/workload/horizontalpodautoscaler-metrics.md); they may
// appear only in that rule group, never on the dashboard.
var kubeStateMetrics = map[string]bool{
	"kube_horizontalpodautoscaler_status_desired_replicas": true,
	"kube_horizontalpodautoscaler_status_current_replicas": true,
	"kube_horizontalpodautoscaler_spec_max_replicas":       true,
}

// TestEveryNamedMetricIsExported starts the test bed and `scaleguard
// serve` watching it, drives reviews, a refusal and an audit scan through
// it so that labelled series exist, and checks each metric a dashboard
// panel or an alert names against the families scaleguard's /metrics
// serves, or, for apiserver_* series, those the test bed's kube-apiserver
// serves after calling scaleguard.
func TestEveryNamedMetricIsExported(t *testing.T) {
	r := render(t)
	_, rules := ruleQueries(t, r.ruleGroups)
	queries := append(rules, dashboardQueries(t, parseDashboard(t, r.dashboard))...)

	scaleguardFamilies, apiserverFamilies := scrapeAfterTraffic(t)

	checked := 0
	for _, q := range queries {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		for _, n := range names {
			checked++
			switch {
			case strings.HasPrefix(n, "apiserver_"):
				if !apiserverFamilies[n] {
					t.Errorf("%s names %s, which kube-apiserver does not serve after calling scaleguard", q.where, n)
				}
			case kubeStateMetrics[n]:
				if q.group != "scaleguard.hpa" {
					t.Errorf("%s names the kube-state-metrics series %s outside the scaleguard.hpa rule group", q.where, n)
				}
			default:
				if !scaleguardFamilies[n] {
					t.Errorf("%s names %s, which scaleguard's /metrics does not serve", q.where, n)
				}
			}
		}
	}
	t.Logf("%d metric references in %d expressions checked", checked, len(queries))
}

// scrapeAfterTraffic returns the series names of scaleguard's /metrics and
// of kube-apiserver's /metrics after scaleguard judged writes.
func scrapeAfterTraffic(t *testing.T) (scaleguard, apiserver map[string]bool) {
	t.Helper()
	ctrllog.SetLogger(logr.Discard()) // the test bed client's own log lines are noise here
	ctx := context.Background()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bed := testbed.Start(t, testbed.Options{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}})
	for _, ns := range []string{"team-a", "team-b"} {
		if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// Stored before scaleguard is registered, so that the audit has a
	// violation to report.
	if err := bed.Client.Create(ctx, harness.Deployment("team-a", "no-requests", false)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{Kubeconfig: bed.Kubeconfig, Settings: "audit:\n  intervalSeconds: 10\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sg.Stop() })
	standard := policies.Defaults()
	webhooks := harness.NewWebhookConfigs(&standard)
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Apply(ctx, bed.Client); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitForWebhook(ctx, bed.Client, "team-b", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// A refusal of a real write, an admitted Deployment and its HPA (which
	// the mutating webhook patches and the validating one judges).
	if err := bed.Client.Create(ctx, harness.Deployment("team-b", "refused", false)); err == nil || !strings.Contains(err.Error(), "scaleguard refused") {
		t.Fatalf("a Deployment without requests was not refused by scaleguard: %v", err)
	}
	if err := bed.Client.Create(ctx, harness.Deployment("team-b", "web", true)); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.Create(ctx, harness.HPA("team-b", "web")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, "an audit scan reporting the stored violation", func() error {
		n, err := sg.MetricSum(ctx, "scaleguard_audit_violations", `namespace="team-a"`)
		if err == nil && n == 0 {
			err = fmt.Errorf("no scaleguard_audit_violations{namespace=\"team-a\"} yet")
		}
		return err
	})

	resp, err := http.Get("http://" + sg.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	scaleguard = seriesNames(t, "scaleguard", resp.Body)

	cs, err := kubernetes.NewForConfig(bed.Config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	apiserver = seriesNames(t, "kube-apiserver", strings.NewReader(string(raw)))
	if os.Getenv("PROMRULES_LIST") != "" {
		keys := make([]string, 0, len(scaleguard))
		for k := range scaleguard {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Logf("scaleguard series names: %s", strings.Join(keys, " "))
	}
	return scaleguard, apiserver
}

// seriesNames parses a text exposition with Prometheus's own parser and
// returns the names a query can select: a family's name, and for a
// histogram or summary its _bucket, _sum and _count series.
func seriesNames(t *testing.T, what string, body io.Reader) map[string]bool {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(body)
	if err != nil {
		t.Fatalf("%s /metrics: %v", what, err)
	}
	names := map[string]bool{}
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name], names[name+"_sum"], names[name+"_count"] = true, true, true
		default:
			names[name] = true
		}
	}
	return names
}
