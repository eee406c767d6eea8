package audit

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// reportCRDs are the CRD files of a report API, as pinned in hack/crds
// and copied by hack/copy-crds.sh (the files the chart installs).
var reportCRDs = map[string][]string{
	policyReportAPI.gvk.Group: {"wgpolicyk8s.io_policyreports.yaml", "wgpolicyk8s.io_clusterpolicyreports.yaml"},
	openReportAPI.gvk.Group:   {"openreports.io_reports.yaml", "openreports.io_clusterreports.yaml"},
}

// installReportCRDs installs the CRDs of the report APIs named by group
// and waits until they are served.
func installReportCRDs(t *testing.T, cfg *rest.Config, groups ...string) {
	t.Helper()
	var paths []string
	for _, g := range groups {
		for _, name := range reportCRDs[g] {
			path, err := testbed.CRDFile(name)
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, path)
		}
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing the CRDs of %v: %v", groups, err)
	}
}

// settingsBox is a SettingsSource a test can change while the Auditor runs.
type settingsBox struct {
	p atomic.Pointer[policies.Settings]
}

func newSettingsBox(edit func(*policies.Settings)) *settingsBox {
	s := policies.Defaults()
	s.Audit.IntervalSeconds = 1
	if edit != nil {
		edit(&s)
	}
	b := &settingsBox{}
	b.p.Store(&s)
	return b
}

func (b *settingsBox) Current() *policies.Settings { return b.p.Load() }

func (b *settingsBox) edit(f func(*policies.Settings)) {
	s := *b.Current()
	f(&s)
	b.p.Store(&s)
}

// gauge reads one series from reg; ok is false when it does not exist.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, l := range m.GetLabel() {
		if labels[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func violationLabels(rule, ns, kind string, action policies.Action) map[string]string {
	return map[string]string{"rule": rule, "namespace": ns, "kind": kind, "action": string(action)}
}

// eventually polls cond every 200 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, timeout, what, harness.Holds(cond))
}

// getReport reads scaleguard's PolicyReport in ns.
func getReport(ctx context.Context, c client.Client, ns string) (*reportContent, *unstructured.Unstructured, error) {
	return getReportOf(ctx, c, policyReportAPI, ns)
}

// getReportOf reads scaleguard's report of api's kind in ns.
func getReportOf(ctx context.Context, c client.Client, api reportAPI, ns string) (*reportContent, *unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(api.gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ReportName}, u); err != nil {
		return nil, nil, err
	}
	rc, _, err := api.content(u)
	return rc, u, err
}

func reportRules(rc *reportContent) []string {
	var out []string
	for _, r := range rc.Results {
		out = append(out, r.Resources[0].Kind+"/"+r.Resources[0].Name+" "+r.Rule+" "+r.Result)
	}
	return out
}

func create(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(t.Context(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// TestAuditorOnTestbed runs the Auditor against a real kube-apiserver:
// without the PolicyReport CRD, then with it installed while it runs,
// through a fix, a namespace emptied and the audit turned off.
func TestAuditorOnTestbed(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := t.Context()
	c := bed.Client

	for _, ns := range []string{"team-a", "team-b"} {
		create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	api, web, batch, dns := deployment("team-a", "api", noRequests), deployment("team-a", "web"), deployment("team-b", "batch"), deployment("kube-system", "dns", noRequests)
	// An HPA written with a target, bounds and a CPU metric only: the API
	// server defaults the rest, and scaleguard would mutate it.
	apiHPA := hpa("team-a", "api", "api", func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.MinReplicas, h.Spec.Behavior = nil, nil
		h.Spec.Metrics = h.Spec.Metrics[:1]
	})
	for _, o := range []*appsv1.Deployment{&api, &web, &batch, &dns} {
		o.UID = ""
		create(t, c, o)
	}
	apiHPA.UID = ""
	create(t, c, &apiHPA)
	// An HPA still applied as autoscaling/v1.
	if _, err := bed.Clientset.AutoscalingV1().HorizontalPodAutoscalers("team-b").Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "batch"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "batch"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr.To[int32](70),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	settings := newSettingsBox(nil)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Source: ReaderSource(c), Client: c, Settings: settings, Registerer: reg, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	a.poll = 200 * time.Millisecond
	if !a.NeedLeaderElection() {
		t.Fatal("the Auditor must run on the leader only")
	}

	t.Run("without the PolicyReport CRD the gauges still work", func(t *testing.T) {
		res, err := a.ScanOnce(ctx)
		if err != nil {
			t.Fatalf("scan without the CRD: %v", err)
		}
		// api, web, the api HPA; batch and its HPA; not kube-system's dns.
		if res.Scanned != 5 {
			t.Errorf("scanned %d objects, want 5", res.Scanned)
		}
		if n, _ := gauge(t, reg, "scaleguard_audit_objects_scanned", nil); n != 5 {
			t.Errorf("scaleguard_audit_objects_scanned = %g, want 5", n)
		}
		for _, want := range []map[string]string{
			violationLabels(policies.RequestsRequired, "team-a", policies.KindDeployment, policies.Deny),
			violationLabels(policies.MinReplicas, "team-a", policies.KindHPA, policies.Mutate),
			violationLabels(policies.HPAAPIVersion, "team-b", policies.KindHPA, policies.Deny),
		} {
			if n, ok := gauge(t, reg, "scaleguard_audit_violations", want); n != 1 {
				t.Errorf("scaleguard_audit_violations%v = %g (present %v), want 1", want, n, ok)
			}
		}
		if _, ok := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.RequestsRequired, "kube-system", policies.KindDeployment, policies.Deny)); ok {
			t.Error("kube-system is exempt and must not be counted")
		}
		if ts, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
			t.Errorf("last scan timestamp %g is not now", ts)
		}
	})

	// The CRD arrives while the Auditor runs: the next scan finds it.
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- a.Start(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v, want nil once its context ends", err)
		}
	})
	installReportCRDs(t, bed.Config, policyReportAPI.gvk.Group)

	t.Run("one PolicyReport per namespace once the CRD is installed", func(t *testing.T) {
		var teamA, teamB *reportContent
		eventually(t, 30*time.Second, "PolicyReports in team-a and team-b", func() bool {
			var errA, errB error
			teamA, _, errA = getReport(ctx, c, "team-a")
			teamB, _, errB = getReport(ctx, c, "team-b")
			return errA == nil && errB == nil
		})
		_, u, _ := getReport(ctx, c, "team-a")
		if u.GetLabels()[LabelManagedBy] != "scaleguard" {
			t.Errorf("labels = %v, want %s: scaleguard", u.GetLabels(), LabelManagedBy)
		}
		wantA := []string{
			"Deployment/api requests-required fail",
			"HorizontalPodAutoscaler/api min-replicas fail",
			"HorizontalPodAutoscaler/api memory-target fail",
			"HorizontalPodAutoscaler/api behavior-defaults fail",
			"HorizontalPodAutoscaler/api target-requests fail",
		}
		if got := reportRules(teamA); !slices.Equal(got, wantA) {
			t.Errorf("team-a results:\n got %q\nwant %q", got, wantA)
		}
		if want := (reportSummary{Pass: 1, Fail: len(wantA)}); teamA.Summary != want {
			t.Errorf("team-a summary = %+v, want %+v", teamA.Summary, want)
		}
		for _, r := range teamA.Results {
			if r.Resources[0].UID == "" {
				t.Errorf("result %s on %s has no uid", r.Rule, r.Resources[0].Name)
			}
		}
		wantB := []string{
			"HorizontalPodAutoscaler/batch hpa-api-version fail",
			"HorizontalPodAutoscaler/batch memory-target fail",
			"HorizontalPodAutoscaler/batch behavior-defaults fail",
		}
		if got := reportRules(teamB); !slices.Equal(got, wantB) {
			t.Errorf("team-b results:\n got %q\nwant %q", got, wantB)
		}
		if _, _, err := getReport(ctx, c, "kube-system"); !apierrors.IsNotFound(err) {
			t.Errorf("kube-system is exempt and gets no report: %v", err)
		}
	})

	t.Run("a fixed object drops out at the next scan", func(t *testing.T) {
		_, before, err := getReport(ctx, c, "team-a")
		if err != nil {
			t.Fatal(err)
		}
		fixed := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "api"}, fixed); err != nil {
			t.Fatal(err)
		}
		fixed.Spec.Template.Spec.Containers[0].Resources = requests("200m", "256Mi")
		if err := c.Update(ctx, fixed); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"HorizontalPodAutoscaler/api min-replicas fail",
			"HorizontalPodAutoscaler/api memory-target fail",
			"HorizontalPodAutoscaler/api behavior-defaults fail",
		}
		var teamA *reportContent
		eventually(t, 20*time.Second, "team-a's report without the fixed Deployment", func() bool {
			teamA, _, err = getReport(ctx, c, "team-a")
			return err == nil && slices.Equal(reportRules(teamA), want)
		})
		if want := (reportSummary{Pass: 2, Fail: 3}); teamA.Summary != want {
			t.Errorf("team-a summary = %+v, want %+v", teamA.Summary, want)
		}
		if _, ok := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.RequestsRequired, "team-a", policies.KindDeployment, policies.Deny)); ok {
			t.Error("the fixed violation's series is still exported")
		}
		// The HPA's results were already there: they keep their time.
		old, _, _ := policyReportAPI.content(before)
		for _, r := range teamA.Results {
			for _, o := range old.Results {
				if resultKey(o) == resultKey(r) && o.Timestamp != r.Timestamp {
					t.Errorf("%s: timestamp moved from %v to %v", r.Rule, o.Timestamp, r.Timestamp)
				}
			}
		}
	})

	t.Run("an unchanged report is not written again", func(t *testing.T) {
		_, u1, err := getReport(ctx, c, "team-a")
		if err != nil {
			t.Fatal(err)
		}
		last, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
		eventually(t, 10*time.Second, "two more scans", func() bool {
			now, _ := gauge(t, reg, "scaleguard_audit_last_scan_timestamp_seconds", nil)
			return now >= last+2
		})
		_, u2, err := getReport(ctx, c, "team-a")
		if err != nil {
			t.Fatal(err)
		}
		if u1.GetResourceVersion() != u2.GetResourceVersion() {
			t.Errorf("report rewritten without a change: resourceVersion %s → %s", u1.GetResourceVersion(), u2.GetResourceVersion())
		}
	})

	t.Run("a namespace with nothing left loses its report", func(t *testing.T) {
		if err := c.DeleteAllOf(ctx, &autoscalingv2.HorizontalPodAutoscaler{}, client.InNamespace("team-b")); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteAllOf(ctx, &appsv1.Deployment{}, client.InNamespace("team-b")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "team-b's report deleted", func() bool {
			_, _, err := getReport(ctx, c, "team-b")
			return apierrors.IsNotFound(err)
		})
	})

	t.Run("turning the audit off removes its reports and series", func(t *testing.T) {
		settings.edit(func(s *policies.Settings) { s.Audit.Enabled = false })
		eventually(t, 20*time.Second, "team-a's report deleted", func() bool {
			_, _, err := getReport(ctx, c, "team-a")
			return apierrors.IsNotFound(err)
		})
		if _, ok := gauge(t, reg, "scaleguard_audit_violations", violationLabels(policies.MinReplicas, "team-a", policies.KindHPA, policies.Mutate)); ok {
			t.Error("violation series still exported with the audit off")
		}
	})
}
