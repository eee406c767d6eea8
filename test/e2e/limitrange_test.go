package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// limitRangeYAML is a LimitRange named "limits" in ns with the given items
// (YAML flow-style list entries); no items means no LimitRange at all.
func limitRangeYAML(ns string, items ...string) string {
	if len(items) == 0 {
		return ""
	}
	return fmt.Sprintf("apiVersion: v1\nkind: LimitRange\nmetadata: {name: limits, namespace: %s}\nspec:\n  limits:\n  - %s\n",
		ns, strings.Join(items, "\n  - "))
}

// bareDeploymentYAML is a Deployment "app" in ns whose one container
// requests nothing.
func bareDeploymentYAML(ns string) string {
	return strings.Replace(workload("app", 2, ""), "metadata: {name: app}", "metadata: {name: app, namespace: "+ns+"}", 1)
}

// webhookVerdict reads kubectl's answer to one write as scaleguard's
// findings, "<action> [rule] path: message": the refusal's (split at each
// "; [rule] ") as deny, each "Warning: [rule] …" line as warn. Anything
// else the API server refused with is returned as other.
func webhookVerdict(stderr string, err error) (findings []string, other string) {
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if w, ok := strings.CutPrefix(line, "Warning: "); ok && strings.HasPrefix(w, "[") {
			findings = append(findings, "warn "+w)
		}
	}
	if err == nil {
		return findings, ""
	}
	_, denied, ok := strings.Cut(stderr, "scaleguard refused ")
	if !ok {
		return findings, stderr
	}
	_, list, _ := strings.Cut(strings.TrimSpace(denied), ": ")
	// Each finding starts with its "[rule] ", which the next one's
	// separator must not swallow.
	start := 0
	for _, at := range findingSeparator.FindAllStringIndex(list, -1) {
		findings = append(findings, "deny "+list[start:at[0]])
		start = at[0] + len("; ")
	}
	findings = append(findings, "deny "+list[start:])
	return findings, ""
}

// findingSeparator is where the refusal joins two findings: "; [rule] ".
var findingSeparator = regexp.MustCompile(`; \[[a-z-]+\] `)

// offlineVerdict runs `scaleguard check`'s rules over the same documents and
// returns the Deployment's findings in the webhook's words: a mutation is a
// warning there too.
func offlineVerdict(t *testing.T, docs string) []string {
	t.Helper()
	parsed, err := manifests.Parse("limitrange-shapes.yaml", []byte(docs))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	report, err := manifests.Check(parsed, &s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, res := range report.Results {
		if res.Doc.Kind != policies.KindDeployment {
			continue
		}
		for _, f := range res.Findings {
			action := "warn"
			if f.Action == policies.Deny {
				action = "deny"
			}
			out = append(out, action+" "+f.String())
		}
	}
	return out
}

// TestLimitRangeShapesOfflineAndWebhookAgree: for each shape of LimitRange,
// a Deployment without requests in a namespace holding it gets the same
// verdict from the webhook (which reads the LimitRange the API server
// stored, defaulted) and from `scaleguard check` over the same two
// documents (which defaults it as k8s.io/kubernetes SetDefaults_LimitRangeItem
// does). The stored LimitRange is also compared with the offline default.
func TestLimitRangeShapesOfflineAndWebhookAgree(t *testing.T) {
	ctx := context.Background()
	shapes := map[string][]string{
		"max only":                {`{type: Container, max: {cpu: "2", memory: 1Gi}}`},
		"max of cpu only":         {`{type: Container, max: {cpu: "2"}}`},
		"default only":            {`{type: Container, default: {cpu: 500m, memory: 256Mi}}`},
		"defaultRequest only":     {`{type: Container, defaultRequest: {cpu: 100m, memory: 128Mi}}`},
		"min only":                {`{type: Container, min: {cpu: 50m, memory: 32Mi}}`},
		"min and max":             {`{type: Container, min: {cpu: 50m, memory: 32Mi}, max: {cpu: "2", memory: 1Gi}}`},
		"default, defaultRequest": {`{type: Container, default: {cpu: "1", memory: 512Mi}, defaultRequest: {cpu: 100m, memory: 128Mi}}`},
		"max cpu, min memory":     {`{type: Container, max: {cpu: "2"}, min: {memory: 32Mi}}`},
		"type Pod only":           {`{type: Pod, max: {cpu: "4", memory: 4Gi}, min: {cpu: 10m, memory: 16Mi}}`},
		"none":                    nil,
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range shapes {
			if !yield(name) {
				return
			}
		}
	})
	nsOf := map[string]string{}
	for _, name := range names {
		ns := namespace(t, nil)
		nsOf[name] = ns
		if lr := limitRangeYAML(ns, shapes[name]...); lr != "" {
			mustApply(t, ns, lr)
		}
	}
	// scaleguard's LimitRange informer receives events in the order the API
	// server stored them: once it has seen a LimitRange created after all
	// of the above, it has seen those too.
	barrier := namespace(t, nil)
	mustApply(t, barrier, limitRangeYAML(barrier, `{type: Container, defaultRequest: {cpu: 100m, memory: 128Mi}}`))
	eventually(t, func() error {
		_, stderr, err := apply(t, barrier, bareDeploymentYAML(barrier), "--dry-run=server")
		if err != nil {
			return fmt.Errorf("scaleguard has not seen the last LimitRange yet: %s", stderr)
		}
		return nil
	})

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ns := nsOf[name]
			lr := limitRangeYAML(ns, shapes[name]...)
			deployment := bareDeploymentYAML(ns)
			_, stderr, err := apply(t, ns, deployment, "--dry-run=server")
			webhook, other := webhookVerdict(stderr, err)
			if other != "" {
				t.Fatalf("refused, but not by scaleguard: %s", other)
			}
			docs := deployment
			if lr != "" {
				docs = lr + "---\n" + deployment
			}
			offline := offlineVerdict(t, docs)
			if !slices.Equal(webhook, offline) {
				t.Errorf("the webhook and scaleguard check disagree\nwebhook: %q\ncheck:   %q", webhook, offline)
			}
			t.Logf("both: %q", offline)
			if lr != "" {
				compareStoredLimitRange(ctx, t, ns, lr)
			}
		})
	}
}

// compareStoredLimitRange checks that the LimitRange the API server stored
// is the file's, defaulted by policies.ApplyLimitRangeDefaults.
func compareStoredLimitRange(ctx context.Context, t *testing.T, ns, manifest string) {
	t.Helper()
	var written corev1.LimitRange
	if err := yaml.UnmarshalStrict([]byte(manifest), &written); err != nil {
		t.Fatal(err)
	}
	policies.ApplyLimitRangeDefaults(&written)
	var stored corev1.LimitRange
	if err := env.bed.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "limits"}, &stored); err != nil {
		t.Fatal(err)
	}
	// Semantic equality: the API server drops an empty default map that
	// the offline copy keeps, and may write a quantity in another form.
	if !apiequality.Semantic.DeepEqual(stored.Spec, written.Spec) {
		t.Errorf("the API server stored\n%+v\nscaleguard check defaults the file to\n%+v", stored.Spec, written.Spec)
	}
}
