package audit

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// logLines is a logr sink that keeps every line, for tests that count
// what was logged.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{})
}

// count is the number of lines holding s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// servedLabels are the labels of api's scaleguard_audit_reports_served.
func servedLabels(api reportAPI) map[string]string {
	return map[string]string{"kind": api.gvk.Kind, "api_version": api.gvk.GroupVersion().String()}
}

// bothReports reads scaleguard's PolicyReport and Report in ns and fails
// unless both exist and carry the same content and metadata.
func bothReports(t *testing.T, c client.Client, ns string) *reportContent {
	t.Helper()
	ctx := t.Context()
	pr, pu, err := getReportOf(ctx, c, policyReportAPI, ns)
	if err != nil {
		t.Fatalf("PolicyReport %s/%s: %v", ns, ReportName, err)
	}
	or, ou, err := getReportOf(ctx, c, openReportAPI, ns)
	if err != nil {
		t.Fatalf("Report %s/%s: %v", ns, ReportName, err)
	}
	if !reflect.DeepEqual(pr, or) {
		t.Errorf("%s: the PolicyReport and the Report differ:\nPolicyReport %+v\nReport       %+v", ns, pr, or)
	}
	for _, u := range []*unstructured.Unstructured{pu, ou} {
		if got := u.GetLabels()[LabelManagedBy]; got != "scaleguard" {
			t.Errorf("%s %s/%s: label %s = %q, want scaleguard", u.GetKind(), ns, u.GetName(), LabelManagedBy, got)
		}
		// Owned by no object, like the PolicyReports always were: the
		// audit deletes a report when its namespace has nothing left to
		// judge, and the namespace's deletion takes it with it.
		if refs := u.GetOwnerReferences(); len(refs) != 0 {
			t.Errorf("%s %s/%s has owners %v, want none", u.GetKind(), ns, u.GetName(), refs)
		}
		if !reflect.DeepEqual(u.GetAnnotations(), pu.GetAnnotations()) {
			t.Errorf("%s %s/%s: annotations %v, the PolicyReport's %v", u.GetKind(), ns, u.GetName(), u.GetAnnotations(), pu.GetAnnotations())
		}
	}
	if source, _, _ := unstructured.NestedString(ou.Object, "source"); source != "scaleguard" {
		t.Errorf("Report %s/%s: source = %q, want scaleguard", ns, ReportName, source)
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(pu.Object, "source"); has {
		t.Errorf("PolicyReport %s/%s has a top-level source, which its kind does not define", ns, ReportName)
	}
	return pr
}

// TestBothReportKindsOnTestbed runs the audit against a real kube-apiserver
// serving both report CRDs (the pinned files the chart ships) with both
// kinds asked for: every namespace gets a PolicyReport and a Report with
// the same results and summary, both follow a fix and an emptied
// namespace, and turning one kind off removes only its reports.
func TestBothReportKindsOnTestbed(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := t.Context()
	c := bed.Client
	installReportCRDs(t, bed.Config, policyReportAPI.gvk.Group, openReportAPI.gvk.Group)

	for _, ns := range []string{"shop", "blog"} {
		create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	api, web, blog := deployment("shop", "api", noRequests), deployment("shop", "web"), deployment("blog", "web")
	// Written with a target, bounds and a CPU metric only: the API server
	// defaults the rest, and scaleguard would mutate it.
	apiHPA := hpa("shop", "api", "api", func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.MinReplicas, h.Spec.Behavior = nil, nil
		h.Spec.Metrics = h.Spec.Metrics[:1]
	})
	for _, o := range []*appsv1.Deployment{&api, &web, &blog} {
		o.UID = ""
		create(t, c, o)
	}
	apiHPA.UID = ""
	create(t, c, &apiHPA)

	settings := newSettingsBox(func(s *policies.Settings) { s.Audit.PolicyReports, s.Audit.OpenReports = true, true })
	reg := prometheus.NewRegistry()
	a, err := New(Options{Source: ReaderSource(c), Client: c, Settings: settings, Registerer: reg, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(t *testing.T) {
		t.Helper()
		if _, err := a.ScanOnce(ctx); err != nil {
			t.Fatalf("scan: %v", err)
		}
	}

	t.Run("violations give the same PolicyReport and Report", func(t *testing.T) {
		scan(t)
		shop := bothReports(t, c, "shop")
		want := []string{
			"Deployment/api requests-required fail",
			"HorizontalPodAutoscaler/api min-replicas fail",
			"HorizontalPodAutoscaler/api memory-target fail",
			"HorizontalPodAutoscaler/api behavior-defaults fail",
			"HorizontalPodAutoscaler/api target-requests fail",
		}
		if got := reportRules(shop); !slices.Equal(got, want) {
			t.Errorf("shop results:\n got %q\nwant %q", got, want)
		}
		if want := (reportSummary{Pass: 1, Fail: len(want)}); shop.Summary != want {
			t.Errorf("shop summary = %+v, want %+v", shop.Summary, want)
		}
		if blog := bothReports(t, c, "blog"); blog.Summary != (reportSummary{Pass: 1}) || len(blog.Results) != 0 {
			t.Errorf("blog: %+v, want a clean report: one pass, no results", blog)
		}
		for _, api := range reportAPIs {
			if n, ok := gauge(t, reg, "scaleguard_audit_reports_served", servedLabels(api)); n != 1 {
				t.Errorf("scaleguard_audit_reports_served%v = %g (present %v), want 1", servedLabels(api), n, ok)
			}
		}
	})

	t.Run("a fix updates both and an unchanged report is not rewritten", func(t *testing.T) {
		_, prBefore, _ := getReportOf(ctx, c, policyReportAPI, "blog")
		_, orBefore, _ := getReportOf(ctx, c, openReportAPI, "blog")
		fixed := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "api"}, fixed); err != nil {
			t.Fatal(err)
		}
		fixed.Spec.Template.Spec.Containers[0].Resources = requests("200m", "256Mi")
		if err := c.Update(ctx, fixed); err != nil {
			t.Fatal(err)
		}
		// The source reads through the client itself: the next scan sees
		// the fix.
		scan(t)
		shop := bothReports(t, c, "shop")
		want := []string{
			"HorizontalPodAutoscaler/api min-replicas fail",
			"HorizontalPodAutoscaler/api memory-target fail",
			"HorizontalPodAutoscaler/api behavior-defaults fail",
		}
		if got := reportRules(shop); !slices.Equal(got, want) {
			t.Errorf("shop results after the fix:\n got %q\nwant %q", got, want)
		}
		if want := (reportSummary{Pass: 2, Fail: 3}); shop.Summary != want {
			t.Errorf("shop summary after the fix = %+v, want %+v", shop.Summary, want)
		}
		_, prAfter, _ := getReportOf(ctx, c, policyReportAPI, "blog")
		_, orAfter, _ := getReportOf(ctx, c, openReportAPI, "blog")
		if prAfter.GetResourceVersion() != prBefore.GetResourceVersion() || orAfter.GetResourceVersion() != orBefore.GetResourceVersion() {
			t.Errorf("blog's unchanged reports were rewritten: PolicyReport %s → %s, Report %s → %s",
				prBefore.GetResourceVersion(), prAfter.GetResourceVersion(), orBefore.GetResourceVersion(), orAfter.GetResourceVersion())
		}
	})

	t.Run("a namespace with nothing left loses both reports", func(t *testing.T) {
		if err := c.DeleteAllOf(ctx, &appsv1.Deployment{}, client.InNamespace("blog")); err != nil {
			t.Fatal(err)
		}
		scan(t)
		for _, api := range reportAPIs {
			if _, _, err := getReportOf(ctx, c, api, "blog"); !apierrors.IsNotFound(err) {
				t.Errorf("%s blog/%s: %v, want it deleted", api, ReportName, err)
			}
		}
		bothReports(t, c, "shop")
	})

	t.Run("turning OpenReports off removes only the Reports", func(t *testing.T) {
		settings.edit(func(s *policies.Settings) { s.Audit.OpenReports = false })
		scan(t)
		if _, _, err := getReportOf(ctx, c, openReportAPI, "shop"); !apierrors.IsNotFound(err) {
			t.Errorf("Report shop/%s: %v, want it deleted", ReportName, err)
		}
		if _, _, err := getReportOf(ctx, c, policyReportAPI, "shop"); err != nil {
			t.Errorf("PolicyReport shop/%s: %v, want it kept", ReportName, err)
		}
		if _, ok := gauge(t, reg, "scaleguard_audit_reports_served", servedLabels(openReportAPI)); ok {
			t.Error("scaleguard_audit_reports_served still has a Report series with OpenReports off")
		}
	})
}

// TestOnlyServedReportKindsAreWritten asks for both kinds from an API server
// that serves only OpenReports: the Reports are written, the PolicyReports
// are reported as not served (once in the log, in the metric) without
// failing the scan, and installing the PolicyReport CRD later is enough.
func TestOnlyServedReportKindsAreWritten(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx := t.Context()
	c := bed.Client
	installReportCRDs(t, bed.Config, openReportAPI.gvk.Group)
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	d := deployment("shop", "api", noRequests)
	d.UID = ""
	create(t, c, &d)

	settings := newSettingsBox(func(s *policies.Settings) { s.Audit.PolicyReports, s.Audit.OpenReports = true, true })
	reg := prometheus.NewRegistry()
	logs := &logLines{}
	a, err := New(Options{Source: ReaderSource(c), Client: c, Settings: settings, Registerer: reg, Log: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	const notServed = "audit.policyReports is on but the API server does not serve wgpolicyk8s.io/v1alpha2 PolicyReport"
	for i := range 3 {
		if _, err := a.ScanOnce(ctx); err != nil {
			t.Fatalf("scan %d with PolicyReport not served: %v", i, err)
		}
	}
	rc, _, err := getReportOf(ctx, c, openReportAPI, "shop")
	if err != nil {
		t.Fatalf("Report shop/%s: %v", ReportName, err)
	}
	if got, want := reportRules(rc), []string{"Deployment/api requests-required fail"}; !slices.Equal(got, want) {
		t.Errorf("Report results %q, want %q", got, want)
	}
	if n := logs.count(notServed); n != 1 {
		t.Errorf("%d lines say PolicyReports are not served after three scans, want 1", n)
	}
	if n := logs.count("does not serve openreports.io"); n != 0 {
		t.Errorf("%d lines say Reports are not served; they are", n)
	}
	if n, ok := gauge(t, reg, "scaleguard_audit_reports_served", servedLabels(policyReportAPI)); !ok || n != 0 {
		t.Errorf("scaleguard_audit_reports_served{kind=PolicyReport} = %g (present %v), want 0", n, ok)
	}
	if n, _ := gauge(t, reg, "scaleguard_audit_reports_served", servedLabels(openReportAPI)); n != 1 {
		t.Errorf("scaleguard_audit_reports_served{kind=Report} = %g, want 1", n)
	}

	// Installed later: a scan soon writes them, with no restart.
	installReportCRDs(t, bed.Config, policyReportAPI.gvk.Group)
	eventually(t, 30*time.Second, "the PolicyReport written once its CRD is served", func() bool {
		if _, err := a.ScanOnce(ctx); err != nil {
			t.Logf("scan: %v", err)
		}
		_, _, err := getReportOf(ctx, c, policyReportAPI, "shop")
		return err == nil
	})
	bothReports(t, c, "shop")
	if n, _ := gauge(t, reg, "scaleguard_audit_reports_served", servedLabels(policyReportAPI)); n != 1 {
		t.Errorf("scaleguard_audit_reports_served{kind=PolicyReport} = %g once served, want 1", n)
	}
	if n := logs.count("the API server serves wgpolicyk8s.io/v1alpha2 PolicyReport now"); n != 1 {
		t.Errorf("%d lines say PolicyReports are served now, want 1", n)
	}
	if n := logs.count(notServed); n != 1 {
		t.Errorf("%d lines say PolicyReports are not served, want still 1", n)
	}
}
