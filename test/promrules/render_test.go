package promrules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// rendered is what the chart renders for monitoring.
type rendered struct {
	// ruleGroups is the PrometheusRule's spec: a Prometheus rule file.
	ruleGroups []byte
	// dashboard is the dashboard ConfigMap's JSON.
	dashboard []byte
	// dashboardLabels are the ConfigMap's labels.
	dashboardLabels map[string]string
	// job is the job label Prometheus Operator gives the ServiceMonitor's
	// targets: the name of the Service it selects.
	job string
}

// monitoringValues turn on everything monitoring in the chart.
var monitoringValues = []string{
	"--set", "metrics.serviceMonitor.enabled=true",
	"--set", "metrics.prometheusRule.enabled=true",
	"--set", "metrics.grafanaDashboard.enabled=true",
}

// render runs the test bed's helm over charts/scaleguard, as a user's
// `helm template` would, and picks out the monitoring objects.
func render(t *testing.T, extra ...string) rendered {
	t.Helper()
	args := append([]string{"template", "sg", testbed.ChartDir(t), "--namespace", "scaleguard-system"}, monitoringValues...)
	out, stderr, err := testbed.Helm(t, append(args, extra...)...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	stdout := bytes.NewBufferString(out)
	var r rendered
	reader := utilyaml.NewYAMLReader(bufio.NewReader(stdout))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec json.RawMessage   `json:"spec"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("rendered document: %v\n%s", err, doc)
		}
		switch {
		case obj.Kind == "PrometheusRule":
			if r.ruleGroups, err = yaml.JSONToYAML(obj.Spec); err != nil {
				t.Fatal(err)
			}
		case obj.Kind == "ConfigMap" && obj.Data["scaleguard.json"] != "":
			r.dashboard, r.dashboardLabels = []byte(obj.Data["scaleguard.json"]), obj.Metadata.Labels
		case obj.Kind == "Service" && strings.Contains(string(doc), "name: metrics"):
			r.job = obj.Metadata.Name
		}
	}
	if r.ruleGroups == nil || r.dashboard == nil || r.job == "" {
		t.Fatalf("helm template %v rendered no PrometheusRule, dashboard ConfigMap or metrics Service:\n%s", extra, stdout.String())
	}
	return r
}
