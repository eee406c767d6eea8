package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/internal/ruletable"
)

// tableDeadline bounds how long the cases of one group wait for
// scaleguard's view to hold their cluster documents (informers see a write
// a moment after it is stored) and for a settings reload.
const tableDeadline = 45 * time.Second

// TestRuleTableThroughTheAPIServer runs every case of the rule table
// (manifests/testdata/rules, which the manifests tests run through
// `scaleguard check`) through the real kube-apiserver: the cluster
// documents are applied for real, then the object under test is dry-run
// with `kubectl apply --dry-run=server`, and kubectl's warnings and
// refusal must be exactly the case's findings. The same case is run
// through check here too, so one run compares both paths.
//
// What cannot be the same is written in the table itself, as lines for
// one path (ruletable's "check: " and "webhook: "), and in docs/rules.md:
//
//   - a mutation is "mutate" in check and a kubectl warning here: the
//     mutating webhook says what it patched; check offers --fix;
//   - the test bed serves no metrics API, so every HPA gets
//     metrics-available here, never from check, which cannot know what a
//     cluster serves;
//   - target-exists says what each path knows: the files, or the cluster;
//   - what the webhooks' matchConditions keep from scaleguard (a create
//     that looks compliant without the cluster) is check's alone;
//   - every case is a create: an update (hpa-replicas-conflict,
//     allowExistingViolations) is not something files express.
func TestRuleTableThroughTheAPIServer(t *testing.T) {
	groups, err := ruletable.Load(filepath.Join(env.root, ruletable.Dir))
	if err != nil {
		t.Fatal(err)
	}
	// Some cases hold VerticalPodAutoscalers: their CRD, as a cluster that
	// runs them has it (the view notices it without a restart).
	installVPACRD(t)
	for _, g := range groups {
		t.Run(g.Name, func(t *testing.T) {
			runTableGroup(t, g)
		})
	}
}

func runTableGroup(t *testing.T, g ruletable.Group) {
	ctx := context.Background()
	var cluster []string
	for _, c := range g.Cases {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.Name}}
		if err := env.bed.Client.Create(ctx, ns); err != nil {
			t.Fatalf("namespace %s (the case's name; run the e2e tests with -count=1): %v", c.Name, err)
		}
		t.Cleanup(func() { _ = env.bed.Client.Delete(context.Background(), ns) })
		cluster = append(cluster, c.Cluster...)
	}
	// Registered after the namespaces' cleanups, so that it runs before
	// them: the restored settings are recognised on a case's object.
	if g.SettingsFile != "" {
		first := g.Cases[0]
		setSettings(t, g.SettingsFile, func() error {
			if got, other := dryRunFindings(t, first); other != "" || slices.Equal(got, first.WantWebhook()) {
				return fmt.Errorf("%s still judged under %s's settings: %q %s", first.Name, g.Name, got, other)
			}
			return nil
		})
	}
	// One kubectl for the cluster documents of every case: they are
	// compliant, or exempted from what they break, so all are stored.
	if len(cluster) > 0 {
		if _, stderr, err := kubectl(t, strings.Join(cluster, "---\n"), "apply", "-f", "-"); err != nil {
			t.Fatalf("applying the cases' cluster documents: %v\n%s", err, stderr)
		}
	}
	deadline := time.Now().Add(tableDeadline)
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			offline, err := c.Check(&g.Settings)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.WantCheck(); !slices.Equal(offline, want) {
				t.Errorf("scaleguard check gives\n  %s\n%s says\n  %s", strings.Join(offline, "\n  "), c.Source, strings.Join(want, "\n  "))
			}
			// Dry runs are repeated, each as soon as the last answered, only
			// until scaleguard's view holds what was just applied (or the
			// settings reloaded): once it does, each case is answered right
			// on its first try, and a real difference is reported after the
			// group's deadline.
			want := c.WantWebhook()
			for {
				got, other := dryRunFindings(t, c)
				if other == "" && slices.Equal(got, want) {
					return
				}
				if time.Now().After(deadline) {
					if other != "" {
						t.Fatalf("refused, but not by scaleguard: %s", other)
					}
					t.Errorf("through the API server\n  %s\n%s says\n  %s", strings.Join(got, "\n  "), c.Source, strings.Join(want, "\n  "))
					return
				}
			}
		})
	}
}

// dryRunFindings dry-runs the case's object through the API server and
// returns scaleguard's findings as the table writes them, sorted, and
// whatever else refused it.
func dryRunFindings(t *testing.T, c ruletable.Case) ([]string, string) {
	t.Helper()
	_, stderr, err := kubectl(t, c.Object, "apply", "--dry-run=server", "-f", "-")
	got, other := webhookVerdict(stderr, err)
	slices.Sort(got)
	return got, other
}
