package audit

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the audit's gauges. They are registered in the caller's
// registry (the webhook's, served on --metrics-addr). Only the leader scans,
// so only the leader has violation series; the other gauges read 0 on the
// other replicas, which is why alerts should take their max.
type metrics struct {
	violations *prometheus.GaugeVec
	scanned    prometheus.Gauge
	lastScan   prometheus.Gauge
	duration   prometheus.Gauge
	// reportsServed has a series for each report kind the settings ask
	// for: 1 when the API server serves it, 0 when it does not (so none
	// are written).
	reportsServed *prometheus.GaugeVec
	// published are the violation series set by the last scan, so that the
	// next one deletes those that are gone without a moment at zero.
	published map[ViolationKey]bool
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaleguard_audit_violations",
			Help: "Stored objects that break a rule, by rule, namespace, kind and action (deny, warn, or mutate: the mutating webhook would change it), as of the last audit scan.",
		}, []string{"rule", "namespace", "kind", "action"}),
		scanned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaleguard_audit_objects_scanned",
			Help: "Objects judged by the last audit scan (workloads, HPAs and ScaledObjects outside exempt namespaces).",
		}),
		lastScan: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaleguard_audit_last_scan_timestamp_seconds",
			Help: "Unix time at which the last audit scan finished; 0 on replicas that are not the leader.",
		}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaleguard_audit_scan_duration_seconds",
			Help: "Time the last audit scan took to list and judge every object (report writes excluded).",
		}),
		reportsServed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaleguard_audit_reports_served",
			Help: "For each report kind the audit settings ask for (audit.policyReports, audit.openReports): 1 when the API server serves it and the audit writes it, 0 when its CRD is not installed and none are written. No series for a kind not asked for.",
		}, []string{"kind", "api_version"}),
		published: map[ViolationKey]bool{},
	}
	for _, c := range []prometheus.Collector{m.violations, m.scanned, m.lastScan, m.duration, m.reportsServed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// publish sets the gauges from a scan.
func (m *metrics) publish(res Result, finished time.Time, took time.Duration) {
	counts := res.ViolationCounts()
	for k := range m.published {
		if _, ok := counts[k]; !ok {
			m.violations.DeleteLabelValues(k.Rule, k.Namespace, k.Kind, string(k.Action))
			delete(m.published, k)
		}
	}
	for k, n := range counts {
		m.violations.WithLabelValues(k.Rule, k.Namespace, k.Kind, string(k.Action)).Set(float64(n))
		m.published[k] = true
	}
	m.scanned.Set(float64(res.Scanned))
	m.lastScan.Set(float64(finished.UnixNano()) / 1e9)
	m.duration.Set(took.Seconds())
}

func (m *metrics) setServed(kind, apiVersion string, served bool) {
	v := 0.0
	if served {
		v = 1
	}
	m.reportsServed.WithLabelValues(kind, apiVersion).Set(v)
}

// clear removes every violation series: with the audit turned off, old
// numbers would read as current.
func (m *metrics) clear() {
	m.violations.Reset()
	m.published = map[ViolationKey]bool{}
	m.scanned.Set(0)
}
