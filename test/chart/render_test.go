// Package chart tests the Helm chart with the real helm binary: lint,
// rendered snapshots, schema rejections, what the rendered objects must
// hold, and install, upgrade and uninstall against a real API server.
package chart

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

var update = flag.Bool("update", false, "rewrite the snapshots from the current render")

// helm runs the test bed's helm binary without a cluster.
func helm(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return testbed.Helm(t, args...)
}

func chartDir(t *testing.T) string {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "charts", "scaleguard")
}

// combos are the value sets the chart is rendered and snapshotted with.
var combos = map[string][]string{
	"default":         nil,
	"generated-tls":   {"--set", "certManager.enabled=false"},
	"existing-issuer": {"--set", "certManager.issuerRef.name=corp-ca", "--set", "certManager.issuerRef.kind=ClusterIssuer"},
	"all-optional-on": {"--set", "autoscaling.enabled=true", "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true", "--set", "networkPolicy.enabled=true", "--set", "networkPolicy.apiServerCIDRs={10.0.0.1/32}",
		"--set-json", `networkPolicy.apiServerPeers=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}},"podSelector":{"matchLabels":{"k8s-app":"konnectivity-agent"}}}]`,
		"--set", "priorityClassName=system-cluster-critical"},
	"warn-mode-tls12":   {"--set", "settings.mode=warn", "--set", "tls.minVersion=1.2", "--set", "webhook.validating.failurePolicy=Ignore"},
	"external-endpoint": {"--set", "certManager.enabled=false", "--set", "webhook.url=https://203.0.113.7:9443", "--set", "tls.extraIPAddresses={203.0.113.7}"},
	"secure-metrics": {"--set", "metrics.secure=true", "--set", "metrics.serviceMonitor.enabled=true",
		"--set-json", `metrics.readers=[{"kind":"ServiceAccount","name":"prometheus-k8s","namespace":"monitoring"}]`},
	"webhook-overrides": {"--set", "webhook.timeoutSeconds=10", "--set", "webhook.mutating.failurePolicy=Fail", "--set", "webhook.excludeNamespaces={team-a,kube-system}", "--set", "webhook.optOutLabel=example.com/no-scaleguard"},
}

func render(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"template", "sg", chartDir(t), "--namespace", "scaleguard-system"}, extra...)
	out, stderr, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", extra, err, stderr)
	}
	return out
}

// generated certificate material differs on every render.
var secretData = regexp.MustCompile(`(?m)^(\s*(?:ca\.crt|tls\.crt|tls\.key|caBundle):) \S+$`)

func TestLint(t *testing.T) {
	for name, values := range combos {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir(t)}, values...)
			if out, stderr, err := helm(t, args...); err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, stderr)
			}
		})
	}
}

func TestSnapshots(t *testing.T) {
	for name, values := range combos {
		t.Run(name, func(t *testing.T) {
			got := secretData.ReplaceAllString(render(t, values...), "$1 <generated>")
			path := filepath.Join("testdata", name+".yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./test/chart -update writes it)", err)
			}
			if string(want) != got {
				t.Errorf("render differs from %s; review and run go test ./test/chart -update\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

// The schema accepts every action the rule catalogue gives a rule: the
// chart is rendered with every rule set to its first action, then its
// second, and so on (values.schema.json's rules are generated from the
// catalogue, hack/chartschema).
func TestSchemaAcceptsEveryActionOfTheCatalogue(t *testing.T) {
	for i := 0; ; i++ {
		var set []string
		for _, r := range policies.Catalogue() {
			if i < len(r.Actions) {
				set = append(set, "--set", "settings.rules."+r.ID+".action="+string(r.Actions[i]))
			}
		}
		if len(set) == 0 {
			if i < 3 {
				t.Fatalf("no rule has a %d. action", i+1)
			}
			return
		}
		args := append([]string{"template", "sg", chartDir(t)}, set...)
		if _, stderr, err := helm(t, args...); err != nil {
			t.Errorf("helm template with each rule's action %d refused it: %v\n%s", i+1, err, stderr)
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	tests := map[string]struct {
		set []string
		// want are what the error must name, each.
		want []string
	}{
		"no replicas":                {[]string{"replicaCount=0"}, []string{"/replicaCount"}},
		"unknown mode":               {[]string{"settings.mode=strict"}, []string{"/settings/mode"}},
		"unknown rule action":        {[]string{"settings.rules.requests-required.action=mutate"}, []string{"/settings/rules/requests-required/action"}},
		"an action the rule lacks":   {[]string{"settings.rules.cost-ceiling.action=mutate"}, []string{"/settings/rules/cost-ceiling/action"}},
		"unknown rule":               {[]string{"settings.rules.request-required.action=deny"}, []string{"additional properties 'request-required' not allowed"}},
		"misspelt relaxable rule":    {[]string{"standard.overrides.relaxableRules={request-required}"}, []string{"/standard/overrides/relaxableRules/0"}},
		"TLS 1.1":                    {[]string{"tls.minVersion=1.1"}, []string{"/tls/minVersion"}},
		"timeout over the API's 30s": {[]string{"webhook.timeoutSeconds=31"}, []string{"/webhook/timeoutSeconds"}},
		"bad failure policy":         {[]string{"webhook.validating.failurePolicy=Maybe"}, []string{"/webhook/validating/failurePolicy"}},
		// Neither CIDRs nor peers: an empty from would admit every source.
		"network policy without CIDRs or peers": {[]string{"networkPolicy.enabled=true"}, []string{"/networkPolicy/apiServerCIDRs", "/networkPolicy/apiServerPeers"}},
		"network policy with an empty peer":     {[]string{"networkPolicy.enabled=true", "networkPolicy.apiServerPeers[0].podSelector=null"}, []string{"/networkPolicy/apiServerPeers/0"}},
		"network policy peer by ipBlock":        {[]string{"networkPolicy.enabled=true", "networkPolicy.apiServerPeers[0].ipBlock.cidr=0.0.0.0/0"}, []string{"/networkPolicy/apiServerPeers/0"}},
		"own HPA below two":                     {[]string{"autoscaling.minReplicas=1"}, []string{"/autoscaling/minReplicas"}},
		"unknown top-level key":                 {[]string{"replicas=3"}, []string{"additional properties 'replicas' not allowed"}},
		"plain http webhook URL":                {[]string{"webhook.url=http://example.com"}, []string{"/webhook/url"}},
		"scale-up policy period > 1800":         {[]string{"settings.rules.behavior-defaults.behavior.scaleUp.policies[0].periodSeconds=3600"}, []string{"periodSeconds"}},
		"dashboard label not a label key":       {[]string{"metrics.grafanaDashboard.label=grafana dashboard"}, []string{"/metrics/grafanaDashboard/label"}},
		"dashboard namespace not a name":        {[]string{"metrics.grafanaDashboard.namespace=Monitoring"}, []string{"/metrics/grafanaDashboard/namespace"}},
		"secure metrics not a boolean":          {[]string{"metrics.secure=yes"}, []string{"/metrics/secure"}},
		"skip verify not a boolean":             {[]string{"metrics.serviceMonitor.insecureSkipVerify=1"}, []string{"/metrics/serviceMonitor/insecureSkipVerify"}},
		"token Secret without a key":            {[]string{"metrics.serviceMonitor.bearerTokenSecret.name=prometheus-token"}, []string{"/metrics/serviceMonitor/bearerTokenSecret", "'key' required"}},
		"metrics reader of an unknown kind":     {[]string{"metrics.readers[0].kind=Pod", "metrics.readers[0].name=prometheus"}, []string{"/metrics/readers/0/kind"}},
		"ServiceAccount reader, no namespace":   {[]string{"metrics.readers[0].kind=ServiceAccount", "metrics.readers[0].name=prometheus"}, []string{"/metrics/readers/0", "namespace"}},
		"metrics readers not a list":            {[]string{"metrics.readers=prometheus"}, []string{"/metrics/readers"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "sg", chartDir(t)}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, stderr, err := helm(t, args...)
			if err == nil {
				t.Fatalf("helm template accepted %v", tc.set)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("error does not name %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// objects splits a render into decoded documents.
func objects(t *testing.T, manifest string) []map[string]any {
	t.Helper()
	var out []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

func find(t *testing.T, objs []map[string]any, kind string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind {
			return o
		}
	}
	t.Fatalf("no %s rendered", kind)
	return nil
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
			if len(out) > 20 {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
