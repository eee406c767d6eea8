package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scaleguard/scaleguard/policies"
)

// SettingsSource gives the settings in force now; the webhook's
// SettingsFile is one. The audit asks before every scan, so an edited
// ConfigMap (interval, rules, audit turned off) applies without a restart.
type SettingsSource interface {
	Current() *policies.Settings
}

// Options are what an Auditor is built from.
type Options struct {
	// Source is what a scan reads of the cluster: in `scaleguard serve`,
	// the cluster view's AuditSource; SetupWithManager's default is
	// ReaderSource over the manager's API reader.
	Source Source
	// Client writes the reports (PolicyReports, OpenReports' Reports), and
	// its RESTMapper tells whether their kinds are served: in a Manager,
	// its client.
	Client client.Client
	// Settings gives the rules and audit settings, read at every scan.
	Settings SettingsSource
	// Registerer receives the audit's gauges.
	Registerer prometheus.Registerer
	// Log receives one line per scan and any error.
	Log logr.Logger
	// AroundScan, when set, runs each scan (the reading and judging of
	// every object): scaleguard serve lowers the garbage collector's
	// target while one runs.
	AroundScan func(scan func())
}

// Auditor scans the stored objects every audit.intervalSeconds and
// publishes what it finds. It is a manager.Runnable that runs on the
// elected leader only, so that replicas neither repeat the work nor fight
// over the reports.
type Auditor struct {
	source   Source
	client   client.Client
	settings SettingsSource
	metrics  *metrics
	log      logr.Logger
	around   func(func())
	// poll is how often Start looks at the settings between scans, which
	// bounds how late an edit of the interval or of audit.enabled applies.
	poll time.Duration

	mu sync.Mutex
	// served is, for each report kind the settings ask for, whether the
	// API server served it at the last sync: a change is logged once.
	served map[schema.GroupVersionKind]bool
}

var (
	_ manager.Runnable               = (*Auditor)(nil)
	_ manager.LeaderElectionRunnable = (*Auditor)(nil)
)

// New builds an Auditor and registers its gauges.
func New(o Options) (*Auditor, error) {
	var missing []string
	if o.Source == nil {
		missing = append(missing, "Source")
	}
	if o.Client == nil {
		missing = append(missing, "Client")
	}
	if o.Settings == nil {
		missing = append(missing, "Settings")
	}
	if o.Registerer == nil {
		missing = append(missing, "Registerer")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("audit: options %v are required", missing)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("audit: registering metrics: %w", err)
	}
	return &Auditor{
		source: o.Source, client: o.Client, settings: o.Settings,
		metrics: m, log: o.Log, poll: 10 * time.Second, around: o.AroundScan,
		served: map[schema.GroupVersionKind]bool{},
	}, nil
}

// SetupWithManager builds an Auditor on mgr and adds it to mgr: Source,
// Client and Log default to a ReaderSource over mgr's API reader (never
// its cache, whose transforms may drop fields), mgr's client and logger.
// It runs only while mgr holds the leader lease (or always, without leader
// election).
func SetupWithManager(mgr manager.Manager, o Options) (*Auditor, error) {
	if o.Source == nil {
		o.Source = ReaderSource(mgr.GetAPIReader())
	}
	if o.Client == nil {
		o.Client = mgr.GetClient()
	}
	if o.Log.GetSink() == nil {
		o.Log = mgr.GetLogger().WithName("audit")
	}
	a, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(a); err != nil {
		return nil, fmt.Errorf("audit: adding to the manager: %w", err)
	}
	return a, nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the
// leader scans.
func (a *Auditor) NeedLeaderElection() bool { return true }

// notReadyRetry is how soon a scan that found a part of the cluster view
// not ready is tried again; it doubles with each such scan in a row, up to
// the interval, so that a part that never gets ready (an informer without
// RBAC to list its kind) is not retried every few seconds for ever.
const notReadyRetry = 5 * time.Second

// Start implements manager.Runnable. It scans at once, then every
// audit.intervalSeconds as the settings say at the time, until ctx ends.
// A failed scan is logged and retried at the next interval: the audit never
// stops the manager, which also serves admission. A scan that could not
// read a part of the view not ready yet (policies.ErrUnknown: a custom
// workload kind just added to the settings, its informer still listing) is
// retried after notReadyRetry instead, then after twice that, and so on up
// to the interval; the reports keep the last complete scan meanwhile.
func (a *Auditor) Start(ctx context.Context) error {
	a.log.Info("audit running on this replica")
	var last time.Time
	cleared := false
	retry := notReadyRetry
	for {
		s := a.settings.Current()
		// The settings validator asks for at least 10 s; settings built in
		// code are not validated, and 0 must not spin.
		interval := max(time.Duration(s.Audit.IntervalSeconds)*time.Second, time.Second)
		wait := a.poll
		switch {
		case !s.Audit.Enabled:
			if !cleared {
				cleared = a.turnOff(ctx)
			}
		case !a.source.Synced():
			// Looked at again within a second: the first scan follows the
			// sync closely.
			wait = min(wait, time.Second)
		default:
			if last.IsZero() || time.Since(last) >= interval {
				cleared = false
				last = time.Now()
				if _, err := a.ScanOnce(ctx); err != nil && ctx.Err() == nil {
					if errors.Is(err, policies.ErrUnknown) && interval > retry {
						a.log.Info("audit incomplete: a part of the cluster view is not ready yet; retrying soon", "reason", err.Error(), "after", retry)
						last = last.Add(retry - interval)
						retry *= 2
					} else {
						a.log.Error(err, "audit incomplete; retrying at the next interval")
					}
				} else if err == nil {
					retry = notReadyRetry
				}
			}
			wait = min(wait, max(time.Until(last.Add(interval)), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// turnOff removes what the audit published: with the audit off, old
// numbers and reports would read as current. It reports whether it is done;
// if not, Start tries again.
func (a *Auditor) turnOff(ctx context.Context) bool {
	a.metrics.clear()
	done, err := a.publishReports(ctx, policies.AuditSettings{}, nil, metav1.Timestamp{})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error(err, "audit turned off; removing its reports failed, retrying")
		}
		return false
	}
	a.log.Info("audit turned off in the settings", reportsLog(done)...)
	return true
}

// ScanOnce reads, judges and publishes once, whatever audit.enabled says.
// The gauges are set even when writing the reports fails.
func (a *Auditor) ScanOnce(ctx context.Context) (Result, error) {
	s := a.settings.Current()
	start := time.Now()
	var res Result
	var err error
	scan := func() { res, err = a.scan(ctx, s) }
	if a.around != nil {
		a.around(scan)
	} else {
		scan()
	}
	if err != nil {
		return Result{}, err
	}
	finished := time.Now()

	done, err := a.publishReports(ctx, s.Audit, &res, metav1.Timestamp{Seconds: finished.Unix()})
	// Published once the reports are written too, so that the last scan's
	// timestamp means the whole pass is over (test/apibench waits for it).
	a.metrics.publish(res, finished, finished.Sub(start))
	a.log.Info("audit scan", append([]any{
		"objects", res.Scanned, "findings", len(res.Findings), "namespaces", len(res.Namespaces),
		"took", finished.Sub(start).String()}, reportsLog(done)...)...)
	return res, err
}

// publishReports writes res as every report kind the settings ask for,
// and removes scaleguard's reports of the other kinds (a nil res removes
// them all). Every kind gets the same content, built once: a result keeps
// the earliest time any stored report says it was first seen. A kind asked
// for that the API server does not serve is logged when that becomes so
// and shown by scaleguard_audit_reports_served; the others are written all
// the same.
func (a *Auditor) publishReports(ctx context.Context, s policies.AuditSettings, res *Result, now metav1.Timestamp) (map[schema.GroupVersionKind]reportSync, error) {
	out := make(map[schema.GroupVersionKind]reportSync, len(reportAPIs))
	var errs []error
	type stored struct {
		api      reportAPI
		asked    bool
		existing map[string]*unstructured.Unstructured
	}
	var kinds []stored
	for _, api := range reportAPIs {
		asked := res != nil && api.enabled(s)
		existing, served, err := a.storedReports(ctx, api)
		switch {
		case err != nil && !asked && apierrors.IsForbidden(err):
			// RBAC written for the kinds asked for may not cover the
			// others: without the right to list them, there is nothing
			// scaleguard could have left there to remove.
			a.noteServed(api, false, false)
		case err != nil:
			errs = append(errs, err)
		default:
			a.noteServed(api, asked, served)
			if served {
				kinds = append(kinds, stored{api, asked, existing})
			}
		}
	}
	var want map[string]*reportContent
	if res != nil {
		want = buildReports(*res, now)
		for _, k := range kinds {
			carryStoredTimestamps(k.api, want, k.existing)
		}
	}
	for _, k := range kinds {
		kindWant := want
		if !k.asked {
			kindWant = nil
		}
		done, err := a.syncReports(ctx, k.api, kindWant, k.existing)
		out[k.api.gvk] = done
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// noteServed keeps scaleguard_audit_reports_served and the log in step
// with whether a kind asked for is served: one line when it turns out not
// to be (and which value installs it), one when it is again.
func (a *Auditor) noteServed(api reportAPI, asked, served bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	was, known := a.served[api.gvk]
	if !asked {
		delete(a.served, api.gvk)
		a.metrics.reportsServed.DeleteLabelValues(api.gvk.Kind, api.gvk.GroupVersion().String())
		return
	}
	a.served[api.gvk] = served
	a.metrics.setServed(api.gvk.Kind, api.gvk.GroupVersion().String(), served)
	switch {
	case known && was == served:
	case !served:
		a.log.Info(fmt.Sprintf("%s is on but the API server does not serve %s: none are written until its CRD is installed (the chart's %s); the audit looks again at every scan", api.setting, api, api.crdValue),
			"kind", api.gvk.Kind, "apiVersion", api.gvk.GroupVersion().String())
	case known:
		a.log.Info(fmt.Sprintf("the API server serves %s now: writing them", api), "kind", api.gvk.Kind, "apiVersion", api.gvk.GroupVersion().String())
	}
}

// reportsLog is the key-value pairs of a log line that say what each
// report kind's sync did.
func reportsLog(done map[schema.GroupVersionKind]reportSync) []any {
	var kv []any
	for _, api := range reportAPIs {
		d := done[api.gvk]
		v := "not served"
		if d.Served {
			v = fmt.Sprintf("written %d, unchanged %d, deleted %d", d.Written, d.Unchanged, d.Deleted)
		}
		kv = append(kv, api.gvk.Kind+"s", v)
	}
	return kv
}

// scan judges the cluster one namespace at a time. The rules never look
// beyond an object's namespace, and a scan that read everything at once
// would hold a decoded copy of every workload and HPA of the cluster for
// its whole length.
func (a *Auditor) scan(ctx context.Context, s *policies.Settings) (Result, error) {
	nss, err := a.source.Namespaces(ctx)
	if err != nil {
		return Result{}, err
	}
	cluster := a.source.Cluster()
	res := Result{Namespaces: map[string]NamespaceSummary{}}
	for _, ns := range nss {
		objs, err := a.read(ctx, ns.Name, s, cluster == nil)
		if err != nil {
			return Result{}, err
		}
		objs.Namespaces = []corev1.Namespace{ns}
		r := Scan(objs, cluster, a.settingsFor(ns.Name, s))
		res.Findings = append(res.Findings, r.Findings...)
		res.Scanned += r.Scanned
		maps.Copy(res.Namespaces, r.Namespaces)
	}
	return res, nil
}

// settingsFor is the standard a namespace's objects are judged with: its
// effective standard when the settings differ by namespace (the
// scaleguard.io standards, whose findings then name the standard in the
// reports), else s.
func (a *Auditor) settingsFor(namespace string, s *policies.Settings) *policies.Settings {
	if n, ok := a.settings.(interface {
		For(namespace string) *policies.Settings
	}); ok {
		return n.For(namespace)
	}
	return s
}

// read reads the objects of one namespace to judge, and its LimitRanges
// when the scan builds its own view of the cluster (snapshot).
func (a *Auditor) read(ctx context.Context, namespace string, s *policies.Settings, snapshot bool) (Objects, error) {
	var objs Objects
	var errs []error
	var err error
	if objs.Workloads, err = a.source.Workloads(ctx, namespace, s.WorkloadKinds); err != nil {
		errs = append(errs, err)
	}
	if objs.HPAs, err = a.source.HPAs(ctx, namespace); err != nil {
		errs = append(errs, err)
	}
	if snapshot {
		if objs.LimitRanges, err = a.source.LimitRanges(ctx, namespace); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Objects{}, err
	}
	objs.ScaledObjects, err = a.source.ScaledObjects(ctx, namespace)
	switch {
	case errors.Is(err, policies.ErrUnknown):
		// The view has not asked discovery yet (the first seconds after
		// start), cannot list them (no RBAC: never synced), or its watch
		// of them is interrupted: this scan judges the rest, so that a
		// cluster without access to ScaledObjects is still audited.
		a.log.Info("ScaledObjects not judged in this scan", "namespace", namespace, "reason", err.Error())
	case err != nil:
		return Objects{}, fmt.Errorf("listing ScaledObjects: %w", err)
	}
	return objs, nil
}
