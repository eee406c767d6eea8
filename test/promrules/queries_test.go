package promrules

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// query is one PromQL expression and where it comes from.
type query struct {
	where string
	expr  string
	// group is the rule group of an alert's expression ("" on the dashboard).
	group string
}

// promQL is Prometheus's parser with its default options, as a Prometheus
// server without feature flags has it.
var promQL = parser.NewParser(parser.Options{})

// ruleQueries parses the rendered rule file with Prometheus's own rule-file
// parser (rulefmt: what `promtool check rules` and the Prometheus Operator's
// admission webhook run) and returns its alerts' expressions.
func ruleQueries(t *testing.T, ruleFile []byte) (*rulefmt.RuleGroups, []query) {
	t.Helper()
	groups, errs := rulefmt.Parse(ruleFile, false, model.UTF8Validation, promQL, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("PrometheusRule: %v", err)
	}
	if groups == nil {
		t.Fatalf("PrometheusRule does not parse:\n%s", ruleFile)
	}
	var qs []query
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{where: "alert " + r.Alert, expr: r.Expr, group: g.Name})
		}
	}
	return groups, qs
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

func parseDashboard(t *testing.T, data []byte) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d
}

// each calls f on every panel, those inside rows included.
func (d dashboard) each(f func(panel)) {
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			f(p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
}

// labelValues is Grafana's variable query label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// dashboardQueries returns every PromQL expression of the dashboard, its
// Grafana variables replaced as Grafana does before it sends a query, and
// the selectors of its label_values variable queries.
func dashboardQueries(t *testing.T, d dashboard) []query {
	t.Helper()
	var qs []query
	d.each(func(p panel) {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			expr, err := expandVariables(tg.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			qs = append(qs, query{where: where, expr: expr})
		}
	})
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: query is not {query: …}: %v", v.Name, err)
			continue
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(<selector>, <label>)", v.Name, q.Query)
			continue
		}
		qs = append(qs, query{where: "variable " + v.Name, expr: m[1]})
	}
	return qs
}

// grafanaVariables are the variables the dashboard may use, with a value of
// the kind Grafana puts in their place. Any other is an error, so that a
// panel cannot depend on a variable the dashboard does not define.
var grafanaVariables = map[string]string{
	"__rate_interval": "2m",
	"__interval":      "1m",
	"__range":         "6h",
	"job":             "sg-scaleguard-webhook",
}

var variableRef = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)`)

func expandVariables(expr string) (string, error) {
	var err error
	out := variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := grafanaVariables[name]
		if !ok && err == nil {
			err = fmt.Errorf("uses the variable $%s, which the dashboard does not define", name)
		}
		return v
	})
	return out, err
}

// metricNames parses expr with Prometheus's parser and returns the metric
// names its selectors name. A selector without a metric name is an error:
// every query must say which series it reads.
func metricNames(expr string) ([]string, error) {
	e, err := promQL.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	var unnamed error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" && unnamed == nil {
			unnamed = fmt.Errorf("selector %s names no metric", vs)
		}
		names = append(names, name)
		return nil
	})
	return names, unnamed
}
