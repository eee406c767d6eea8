// Package promrules proves the chart's monitoring with Prometheus's own
// code rather than by eye: every PromQL expression of the Grafana dashboard
// and of the PrometheusRule, as the real helm renders them, parses with
// Prometheus's parser and names only series that exist (scaleguard's, from
// a running `scaleguard serve`; the API server's, from the test bed's
// kube-apiserver), and every alert is evaluated by Prometheus's rule engine
// on synthetic series that must fire it and on series that must not.
//
// It is a module of its own, like test/oracle, so that the scaleguard
// module never depends on github.com/prometheus/prometheus.
package promrules
