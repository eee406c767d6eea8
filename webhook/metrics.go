package webhook

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are scaleguard's own Prometheus series. They live in a registry
// the caller owns, so tests and several servers in one process never share
// state.
type Metrics struct {
	Registry *prometheus.Registry
	// decisions counts findings by rule and what was done about them.
	decisions *prometheus.CounterVec
	// reviews counts admission reviews by handler and outcome.
	reviews *prometheus.CounterVec
	// latency is the time spent in a handler.
	latency *prometheus.HistogramVec
	// refusals counts refused reviews by namespace.
	refusals *refusals
	// SettingsReloads counts settings file reloads by result.
	SettingsReloads *prometheus.CounterVec
}

// NewMetrics creates and registers the series, with Go and process
// collectors beside them.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaleguard_decisions_total",
			Help: "Findings returned by admission reviews, by rule, action (deny, warn, mutate), kind, operation and dry run.",
		}, []string{"rule", "action", "kind", "operation", "dry_run"}),
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaleguard_admission_reviews_total",
			Help: "Admission reviews answered, by handler and result (allowed, denied, patched, error, skipped, panic: a bug, answered with HTTP 500).",
		}, []string{"handler", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaleguard_admission_duration_seconds",
			Help:    "Time to answer an admission review inside scaleguard, by handler.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5},
		}, []string{"handler"}),
		refusals: newRefusals(),
		SettingsReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaleguard_settings_reloads_total",
			Help: "Settings file loads, by result (success, error). After an error the last good settings stay in force.",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(m.decisions, m.reviews, m.latency, m.refusals.counter, m.SettingsReloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) decision(rule, action, kind, operation string, dryRun bool) {
	if m == nil {
		return
	}
	m.decisions.WithLabelValues(rule, action, kind, operation, strconv.FormatBool(dryRun)).Inc()
}

func (m *Metrics) review(handler, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.reviews.WithLabelValues(handler, result).Inc()
	m.latency.WithLabelValues(handler).Observe(took.Seconds())
}

// refusal counts a review answered with a denial, by the namespace of its
// object.
func (m *Metrics) refusal(namespace string, dryRun bool) {
	if m == nil {
		return
	}
	m.refusals.inc(namespace, dryRun)
}
