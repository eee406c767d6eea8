package promrules

import (
	"strings"
	"testing"
)

// TestEveryQueryParses parses every expression of the dashboard and the
// PrometheusRule with Prometheus's parser, and holds the dashboard to what
// the Grafana sidecar and the chart's users need of it.
func TestEveryQueryParses(t *testing.T) {
	r := render(t)
	_, rules := ruleQueries(t, r.ruleGroups)
	d := parseDashboard(t, r.dashboard)
	panelQueries := dashboardQueries(t, d)
	onDashboard := map[string]bool{}
	for _, q := range append(rules, panelQueries...) {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %q: %v", q.where, q.expr, err)
		}
		for _, n := range names {
			if q.group == "" {
				onDashboard[n] = true
			}
		}
	}
	t.Logf("%d expressions parsed: %d of alerts, %d of the dashboard, which reads %d metrics", len(rules)+len(panelQueries), len(rules), len(panelQueries), len(onDashboard))

	// What the dashboard is for (issue 14): each of these is read by a panel.
	for _, want := range []string{
		"scaleguard_decisions_total",                              // decisions by rule and action
		"scaleguard_admission_refusals_total",                     // refusals by namespace
		"scaleguard_admission_duration_seconds_bucket",            // latency percentiles
		"scaleguard_cluster_view_synced",                          // cluster view sync
		"scaleguard_cluster_view_direct_lookups_total",            // and lookups
		"scaleguard_audit_violations",                             // audit violations
		"scaleguard_serving_certificate_expiry_timestamp_seconds", // certificate expiry
	} {
		if !onDashboard[want] {
			t.Errorf("no dashboard panel reads %s", want)
		}
	}

	if got := r.dashboardLabels["grafana_dashboard"]; got != "1" {
		t.Errorf("dashboard ConfigMap label grafana_dashboard = %q, want \"1\" (what the Grafana sidecar selects by default)", got)
	}
	var hasDatasource bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && strings.Contains(string(v.Query), "prometheus") {
			hasDatasource = true
		}
		if v.Datasource != nil && v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s: data source uid %q, want ${datasource}", v.Name, v.Datasource.UID)
		}
	}
	if !hasDatasource {
		t.Error("the dashboard has no `datasource` variable of type datasource for Prometheus")
	}
	// Every query goes to the data source the user picked: a hard-coded
	// uid would point at a data source only one Grafana has.
	panels := 0
	d.each(func(p panel) {
		if p.Type == "row" {
			return
		}
		panels++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want uid ${datasource}", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q query %s: data source %+v, want uid ${datasource}", p.Title, tg.RefID, tg.Datasource)
			}
		}
	})
	t.Logf("%d panels", panels)
}

// TestDashboardLabelFollowsValues renders the ConfigMap with another
// sidecar label and namespace.
func TestDashboardLabelFollowsValues(t *testing.T) {
	r := render(t, "--set", "metrics.grafanaDashboard.label=example.com/dashboard", "--set", "metrics.grafanaDashboard.labelValue=platform")
	if got := r.dashboardLabels["example.com/dashboard"]; got != "platform" {
		t.Errorf("label example.com/dashboard = %q, want platform (labels: %v)", got, r.dashboardLabels)
	}
	if _, ok := r.dashboardLabels["grafana_dashboard"]; ok {
		t.Errorf("the default label is still set: %v", r.dashboardLabels)
	}
}
