package promrules

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

// alertCase is an alert's unit test, as `promtool test rules` writes one:
// series in promqltest's load syntax ("load <interval>" then
// `metric{labels} values`), and the time, from the first sample, at which
// the alert must be firing (fire) or must not (silent).
type alertCase struct {
	fire, silent string
	at           time.Duration
}

// alertCases hold every alert of the chart's PrometheusRule (rendered with
// its default values, release sg: job "sg-scaleguard-webhook"); a new alert
// without a case fails TestAlerts.
func alertCases(job string) map[string][]alertCase {
	j := fmt.Sprintf(`job=%q`, job)
	return map[string][]alertCase{
		"ScaleguardReviewErrors": {{
			// 5 errors in 105 reviews a minute: 4.8 % > 1 %, for 10 minutes.
			fire: fmt.Sprintf("load 1m\n scaleguard_admission_reviews_total{%s,handler=\"hpa-validate\",result=\"allowed\"} 0+100x30\n scaleguard_admission_reviews_total{%s,handler=\"hpa-validate\",result=\"error\"} 0+5x30", j, j),
			// 0.5 %: under the 1 % threshold.
			silent: fmt.Sprintf("load 1m\n scaleguard_admission_reviews_total{%s,handler=\"hpa-validate\",result=\"allowed\"} 0+200x30\n scaleguard_admission_reviews_total{%s,handler=\"hpa-validate\",result=\"error\"} 0+1x30", j, j),
			at:     20 * time.Minute,
		}, {
			// Panics (a bug, answered with HTTP 500) count as errors: 5 in 105.
			fire: fmt.Sprintf("load 1m\n scaleguard_admission_reviews_total{%s,handler=\"workload-validate\",result=\"allowed\"} 0+100x30\n scaleguard_admission_reviews_total{%s,handler=\"workload-validate\",result=\"panic\"} 0+5x30", j, j),
			at:   20 * time.Minute,
		}, {
			// Another job's errors are not scaleguard's.
			silent: "load 1m\n scaleguard_admission_reviews_total{job=\"other\",handler=\"hpa-validate\",result=\"error\"} 0+5x30",
			at:     20 * time.Minute,
		}},
		"ScaleguardWebhookSlow": {{
			// 90 % of calls between 0.1 and 0.5 s: p99 about 0.48 s.
			fire: "load 1m\n" + buckets("hpa.validate.scaleguard.io", 10, 100, 100),
			// Every call under 0.1 s.
			silent: "load 1m\n" + buckets("hpa.validate.scaleguard.io", 100, 100, 100),
			at:     20 * time.Minute,
		}, {
			// A slow webhook that is not scaleguard's.
			silent: "load 1m\n" + buckets("pods.policy.example.com", 0, 0, 100),
			at:     20 * time.Minute,
		}},
		"ScaleguardWebhookRejectedByAPIServer": {{
			fire: "load 1m\n apiserver_admission_webhook_rejection_count{name=\"hpa.validate.scaleguard.io\",error_type=\"calling_webhook_error\",rejection_code=\"0\",type=\"validating\",operation=\"CREATE\"} 0+1x30",
			// scaleguard's own denials are counted with error_type no_error: the webhook worked.
			silent: "load 1m\n apiserver_admission_webhook_rejection_count{name=\"hpa.validate.scaleguard.io\",error_type=\"no_error\",rejection_code=\"403\",type=\"validating\",operation=\"CREATE\"} 0+10x30",
			at:     15 * time.Minute,
		}},
		"ScaleguardMatchConditionsOutOfStep": {{
			fire: fmt.Sprintf("load 1m\n scaleguard_webhook_conditions_in_sync{%s,pod=\"a\"} 0x30\n scaleguard_webhook_conditions_in_sync{%s,pod=\"b\"} 0x30", j, j),
			// Only the leader syncs; the other replica's 0 is normal.
			silent: fmt.Sprintf("load 1m\n scaleguard_webhook_conditions_in_sync{%s,pod=\"a\"} 1x30\n scaleguard_webhook_conditions_in_sync{%s,pod=\"b\"} 0x30", j, j),
			at:     15 * time.Minute,
		}},
		"ScaleguardCertificateExpiresSoon": {{
			// NotAfter 10 days after the first sample; the threshold is 14.
			fire:   fmt.Sprintf("load 1m\n scaleguard_serving_certificate_expiry_timestamp_seconds{%s,pod=\"a\"} %dx30", j, 10*86400),
			silent: fmt.Sprintf("load 1m\n scaleguard_serving_certificate_expiry_timestamp_seconds{%s,pod=\"a\"} %dx30", j, 30*86400),
			at:     5 * time.Minute,
		}, {
			// An unreadable file reports NaN, which must not page anyone.
			silent: fmt.Sprintf("load 1m\n scaleguard_serving_certificate_expiry_timestamp_seconds{%s,pod=\"a\"} %s", j, strings.TrimSpace(strings.Repeat("NaN ", 30))),
			at:     5 * time.Minute,
		}},
		"ScaleguardClusterViewNotSynced": {{
			fire:   fmt.Sprintf("load 1m\n scaleguard_cluster_view_synced{%s,pod=\"a\"} 1x30\n scaleguard_cluster_view_synced{%s,pod=\"b\"} 0x30", j, j),
			silent: fmt.Sprintf("load 1m\n scaleguard_cluster_view_synced{%s,pod=\"a\"} 1x30\n scaleguard_cluster_view_synced{%s,pod=\"b\"} 0 0 0 1x27", j, j),
			at:     15 * time.Minute,
		}},
		"ScaleguardDirectLookupErrors": {{
			fire:   fmt.Sprintf("load 1m\n scaleguard_cluster_view_direct_lookups_total{%s,resource=\"deployments\",result=\"error\"} 0+1x30", j),
			silent: fmt.Sprintf("load 1m\n scaleguard_cluster_view_direct_lookups_total{%s,resource=\"deployments\",result=\"error\"} 3x30\n scaleguard_cluster_view_direct_lookups_total{%s,resource=\"deployments\",result=\"found\"} 0+10x30", j, j),
			at:     20 * time.Minute,
		}},
		"ScaleguardSettingsRejected": {{
			// One rejected edit at minute 3.
			fire:   fmt.Sprintf("load 1m\n scaleguard_settings_reloads_total{%s,result=\"error\"} 0 0 0 1x27", j),
			silent: fmt.Sprintf("load 1m\n scaleguard_settings_reloads_total{%s,result=\"error\"} 0x30\n scaleguard_settings_reloads_total{%s,result=\"success\"} 1 1 1 2x27", j, j),
			at:     8 * time.Minute,
		}},
		"ScaleguardAuditStalled": {{
			// The last scan finished at 60 s and none since: 3 × 300 s passed by 16 minutes.
			fire: fmt.Sprintf("load 1m\n scaleguard_audit_last_scan_timestamp_seconds{%s,pod=\"leader\"} 60x40\n scaleguard_audit_last_scan_timestamp_seconds{%s,pod=\"b\"} 0x40", j, j),
			// A scan every 5 minutes; the other replica reports 0.
			silent: fmt.Sprintf("load 1m\n scaleguard_audit_last_scan_timestamp_seconds{%s,pod=\"leader\"} %s\n scaleguard_audit_last_scan_timestamp_seconds{%s,pod=\"b\"} 0x40", j, everyFiveMinutes(40), j),
			at:     30 * time.Minute,
		}},
		"ScaleguardAuditReportsNotServed": {{
			// The OpenReports CRD is missing for 20 minutes; PolicyReports are served.
			fire: fmt.Sprintf("load 1m\n scaleguard_audit_reports_served{%s,pod=\"leader\",kind=\"Report\",api_version=\"openreports.io/v1alpha1\"} 0x30\n"+
				" scaleguard_audit_reports_served{%s,pod=\"leader\",kind=\"PolicyReport\",api_version=\"wgpolicyk8s.io/v1alpha2\"} 1x30", j, j),
			// Missing for 10 minutes, then installed: shorter than the 15 minutes the alert waits.
			silent: fmt.Sprintf("load 1m\n scaleguard_audit_reports_served{%s,pod=\"leader\",kind=\"Report\",api_version=\"openreports.io/v1alpha1\"} 0x10 1x20", j),
			at:     25 * time.Minute,
		}},
		"HPAFlapping": {{
			fire:   "load 1m\n kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} " + alternating(70, 2, 4),
			silent: "load 1m\n kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 2x30 4x39",
			at:     60 * time.Minute,
		}},
		"HPAAtMaxReplicas": {{
			fire: "load 1m\n kube_horizontalpodautoscaler_status_current_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 10x80\n" +
				" kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 10x80",
			silent: "load 1m\n kube_horizontalpodautoscaler_status_current_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 6x80\n" +
				" kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 10x80",
			at: 70 * time.Minute,
		}},
	}
}

// buckets is the API server's webhook latency histogram for the webhook
// name, growing each minute by the given cumulative counts at le 0.1, 0.5
// and +Inf.
func buckets(name string, le01, le05, inf int) string {
	var b strings.Builder
	for _, bk := range []struct {
		le string
		n  int
	}{{"0.1", le01}, {"0.5", le05}, {"+Inf", inf}} {
		fmt.Fprintf(&b, " apiserver_admission_webhook_admission_duration_seconds_bucket{name=%q,type=\"validating\",operation=\"CREATE\",rejected=\"false\",le=%q} 0+%dx30\n", name, bk.le, bk.n)
	}
	return b.String()
}

// alternating is n samples switching between a and b every minute.
func alternating(n, a, b int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprint(a)
		if i%2 == 1 {
			vals[i] = fmt.Sprint(b)
		}
	}
	return strings.Join(vals, " ")
}

// everyFiveMinutes is n one-minute samples of a last-scan timestamp that a
// scan moves forward every five minutes.
func everyFiveMinutes(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprint(i / 5 * 300)
	}
	return strings.Join(vals, " ")
}

// TestAlerts evaluates each alert of the rendered PrometheusRule with
// Prometheus's rule engine (rules.AlertingRule over promql.Engine, as a
// Prometheus server runs it, one evaluation a minute so that `for` holds),
// on series that must fire it and series that must not.
func TestAlerts(t *testing.T) {
	r := render(t)
	groups, _ := ruleQueries(t, r.ruleGroups)
	cases := alertCases(r.job)
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, rule := range g.Rules {
			seen[rule.Alert] = true
			cs, ok := cases[rule.Alert]
			if !ok {
				t.Errorf("alert %s has no test case in alertCases", rule.Alert)
				continue
			}
			for i, c := range cs {
				t.Run(fmt.Sprintf("%s/%d", rule.Alert, i), func(t *testing.T) {
					if c.fire != "" {
						firing := evaluate(t, rule, c.fire, c.at)
						if len(firing) == 0 {
							t.Errorf("not firing at %v on:\n%s", c.at, c.fire)
						}
						for _, a := range firing {
							if a.Labels.Get("severity") == "" || a.Annotations.Get("summary") == "" {
								t.Errorf("firing alert lacks a severity or summary: %v %v", a.Labels, a.Annotations)
							}
						}
					}
					if c.silent != "" {
						if firing := evaluate(t, rule, c.silent, c.at); len(firing) != 0 {
							t.Errorf("firing at %v on series that must not fire it (%v):\n%s", c.at, firing[0].Labels, c.silent)
						}
					}
				})
			}
		}
	}
	for name := range cases {
		if !seen[name] {
			t.Errorf("alertCases has %s, which the PrometheusRule does not", name)
		}
	}
}

// evaluate runs rule once a minute from the first sample to at, and returns
// the alerts firing then.
func evaluate(t *testing.T, rule rulefmt.Rule, load string, at time.Duration) []*rules.Alert {
	t.Helper()
	storage := promqltest.LoadedStorage(t, load)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, promqltest.DefaultMaxSamplesPerQuery)
	expr, err := promQL.ParseExpr(rule.Expr)
	if err != nil {
		t.Fatalf("%s: %v", rule.Alert, err)
	}
	alerting := rules.NewAlertingRule(rule.Alert, expr, time.Duration(rule.For), time.Duration(rule.KeepFiringFor),
		labels.FromMap(rule.Labels), labels.FromMap(rule.Annotations), labels.EmptyLabels(), "", false, slog.New(slog.DiscardHandler))
	query := rules.EngineQueryFunc(engine, storage)
	start := time.Unix(0, 0).UTC()
	for ts := start; !ts.After(start.Add(at)); ts = ts.Add(time.Minute) {
		if _, err := alerting.Eval(context.Background(), 0, ts, query, nil, 0); err != nil {
			t.Fatalf("%s at %v: %v", rule.Alert, ts.Sub(start), err)
		}
	}
	var firing []*rules.Alert
	for _, a := range alerting.ActiveAlerts() {
		if a.State == rules.StateFiring {
			firing = append(firing, a)
		}
	}
	return firing
}
