package gitops

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/argoproj/gitops-engine/pkg/diff"
	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// repositoryHPA is the HPA as a repository holds it before `scaleguard
// check --fix`: minReplicas 1, CPU only, no behavior. scaleguard's
// mutating webhook raises minReplicas to 2, appends a memory target and
// adds the standard behavior.
const repositoryHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: checkout
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: checkout}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
`

// argoManager is the field manager of Argo CD's application controller,
// under which it applies with the ServerSideApply=true sync option and
// dry-runs for Server-Side Diff.
const argoManager = "argocd-controller"

var hpaGVK = schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}

// synced is one manifest applied three ways, each in a namespace of its
// own, as the GitOps tools apply it.
type synced struct {
	// clientSide: `kubectl apply`, as Argo CD syncs by default; it carries
	// the last-applied-configuration annotation.
	clientSide string
	// serverSide: `kubectl apply --server-side` (field manager kubectl).
	serverSide string
	// argoServerSide: `kubectl apply --server-side
	// --field-manager=argocd-controller`, as Argo CD's ServerSideApply=true
	// sync option applies.
	argoServerSide string
	// warnings are kubectl's stderr of the three applies.
	warnings string
}

var namespaces atomic.Int32

func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gitops-%d", namespaces.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.bed.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.bed.Client.Delete(context.Background(), ns) })
	return name
}

func kubectl(t *testing.T, stdin string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := env.bed.KubectlStdin(ctx, stdin, args...)
	return res.Stdout, res.Stderr, res.ExitCode
}

func applyThreeWays(t *testing.T, manifest string) synced {
	t.Helper()
	s := synced{clientSide: namespace(t), serverSide: namespace(t), argoServerSide: namespace(t)}
	var warnings strings.Builder
	for _, args := range [][]string{
		{"apply", "-n", s.clientSide, "-f", "-"},
		{"apply", "--server-side", "-n", s.serverSide, "-f", "-"},
		{"apply", "--server-side", "--field-manager=" + argoManager, "-n", s.argoServerSide, "-f", "-"},
	} {
		_, stderr, code := kubectl(t, manifest, args...)
		if code != 0 {
			t.Fatalf("kubectl %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		warnings.WriteString(stderr)
	}
	s.warnings = warnings.String()
	return s
}

// desired is the manifest as Argo CD's application controller holds it:
// with the Application's destination namespace set.
func desired(t *testing.T, manifest, namespace string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(namespace)
	return obj
}

// live reads the stored object, as Argo CD's cluster cache holds it.
func live(t *testing.T, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(hpaGVK)
	if err := env.bed.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func typed(t *testing.T, obj map[string]any) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &hpa); err != nil {
		t.Fatal(err)
	}
	return &hpa
}

var gvkParser = once(func() (*managedfields.GvkParser, error) { return GVKParser(env.bed.Config) })

// once computes a value on first use (the tests run one at a time).
func once[T any](f func() (T, error)) func(t *testing.T) T {
	var (
		done bool
		v    T
		err  error
	)
	return func(t *testing.T) T {
		t.Helper()
		if !done {
			v, err = f()
			done = true
		}
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// argoDiff is Argo CD's comparison of one resource, by strategy.
type argoDiff struct {
	name string
	// namespace holds the live object the strategy compares with.
	namespace string
	opts      func(t *testing.T) []diff.Option
}

// argoStrategies are Argo CD's three diff strategies, each against the
// object as the sync that goes with it left it.
func argoStrategies(s synced) []argoDiff {
	quiet := diff.WithLogr(logr.Discard())
	return []argoDiff{
		// The default ("legacy"): three-way with the annotation kubectl
		// apply leaves.
		{"legacy three-way (default sync)", s.clientSide, func(*testing.T) []diff.Option { return []diff.Option{quiet} }},
		// The same code without the annotation falls back to two-way.
		{"legacy two-way (no last-applied annotation)", s.serverSide, func(*testing.T) []diff.Option { return []diff.Option{quiet} }},
		// ServerSideApply=true sync option without ServerSideDiff.
		{"structured-merge (ServerSideApply=true)", s.argoServerSide, func(t *testing.T) []diff.Option {
			return []diff.Option{quiet, diff.WithStructuredMergeDiff(true), diff.WithGVKParser(gvkParser(t)), diff.WithManager(argoManager)}
		}},
	}
}

func serverSideDiff(includeMutationWebhook bool) func(t *testing.T) []diff.Option {
	return func(t *testing.T) []diff.Option {
		return []diff.Option{diff.WithLogr(logr.Discard()), diff.WithServerSideDiff(true),
			diff.WithServerSideDryRunner(DryRunner{Config: env.bed.Config}), diff.WithGVKParser(gvkParser(t)),
			diff.WithManager(argoManager), diff.WithIgnoreMutationWebhook(!includeMutationWebhook)}
	}
}

func compare(t *testing.T, manifest string, d argoDiff, extra ...diff.Option) (*diff.DiffResult, []string) {
	t.Helper()
	res, err := diff.Diff(desired(t, manifest, d.namespace), live(t, d.namespace, "checkout"), append(d.opts(t), extra...)...)
	if err != nil {
		t.Fatalf("%s: %v", d.name, err)
	}
	fields, err := ChangedFields(res)
	if err != nil {
		t.Fatal(err)
	}
	return res, fields
}

// (a) Argo CD's client-side comparisons show the patched fields that the
// manifest sets as drift, for as long as the manifest stays as it is; the
// fields the manifest omits and the webhook adds do not show.
func TestArgoCDClientSideDiffShowsPatchedFieldsTheManifestSets(t *testing.T) {
	s := applyThreeWays(t, repositoryHPA)
	for _, w := range []string{"[min-replicas]", "[memory-target]", "[behavior-defaults]"} {
		if !strings.Contains(s.warnings, "Warning: "+w) {
			t.Fatalf("scaleguard did not patch the HPA (no %s warning):\n%s", w, s.warnings)
		}
	}
	for _, d := range argoStrategies(s) {
		t.Run(d.name, func(t *testing.T) {
			res, fields := compare(t, repositoryHPA, d)
			if !res.Modified {
				t.Fatalf("no drift; want spec.minReplicas and spec.metrics")
			}
			if want := []string{"spec.metrics", "spec.minReplicas"}; !slices.Equal(fields, want) {
				t.Fatalf("drift in %v, want %v\npredicted: %s\nlive:      %s", fields, want, res.PredictedLive, res.NormalizedLive)
			}
			var predicted, stored map[string]any
			if err := yaml.Unmarshal(res.PredictedLive, &predicted); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(res.NormalizedLive, &stored); err != nil {
				t.Fatal(err)
			}
			p, l := typed(t, predicted), typed(t, stored)
			// Set by the manifest, changed by the webhook: Git says 1, the
			// cluster 2.
			if *p.Spec.MinReplicas != 1 || *l.Spec.MinReplicas != 2 {
				t.Errorf("minReplicas: predicted %d, live %d; want 1 and 2", *p.Spec.MinReplicas, *l.Spec.MinReplicas)
			}
			// An atomic list the manifest sets: the appended memory target
			// makes the whole list differ.
			if len(p.Spec.Metrics) != 1 || len(l.Spec.Metrics) != 2 || l.Spec.Metrics[1].Resource.Name != corev1.ResourceMemory {
				t.Errorf("metrics: predicted %+v, live %+v; want cpu, and cpu + memory", p.Spec.Metrics, l.Spec.Metrics)
			}
			// Omitted by the manifest, added by the webhook: stored, and no
			// drift.
			if l.Spec.Behavior == nil || !apiequality.Semantic.DeepEqual(p.Spec.Behavior, l.Spec.Behavior) {
				t.Errorf("behavior: predicted %+v, live %+v; want the webhook's on both sides", p.Spec.Behavior, l.Spec.Behavior)
			}
		})
	}
}

// (b) The server-side dry runs go through the mutating webhook, so the
// predicted object is the stored one: `kubectl diff` (client-side three-way
// patch sent with dryRun=All), `kubectl diff --server-side` (Flux's drift
// check is the same server-side apply dry run, under its own field manager)
// and Argo CD's Server-Side Diff show nothing.
func TestServerSideDryRunShowsNoDrift(t *testing.T) {
	s := applyThreeWays(t, repositoryHPA)
	assertKubectlDiffsEmpty(t, repositoryHPA, s)
	for _, include := range []bool{false, true} {
		d := argoDiff{fmt.Sprintf("Argo CD ServerSideDiff=true, IncludeMutationWebhook=%t", include), s.argoServerSide, serverSideDiff(include)}
		t.Run(d.name, func(t *testing.T) {
			res, fields := compare(t, repositoryHPA, d)
			if res.Modified || len(fields) > 0 {
				t.Errorf("drift in %v\npredicted: %s\nlive:      %s", fields, res.PredictedLive, res.NormalizedLive)
			}
		})
	}
}

func assertKubectlDiffsEmpty(t *testing.T, manifest string, s synced) {
	t.Helper()
	for _, args := range [][]string{
		{"diff", "-n", s.clientSide, "-f", "-"},
		{"diff", "--server-side", "-n", s.serverSide, "-f", "-"},
		{"diff", "--server-side", "--field-manager=" + argoManager, "-n", s.argoServerSide, "-f", "-"},
	} {
		stdout, stderr, code := kubectl(t, manifest, args...)
		if code != 0 || stdout != "" {
			t.Errorf("kubectl %s: exit %d (want 0, no differences)\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// (c) The manifest `scaleguard check --fix` writes already carries every
// mutation: the webhook is asked and patches nothing, the stored spec is the
// manifest's, and no comparison shows drift.
func TestCheckFixLeavesNothingToPatchNorDrift(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hpa.yaml")
	if err := os.WriteFile(file, []byte(repositoryHPA), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(env.bin, "check", "--fix", "-f", file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scaleguard check --fix: %v\n%s", err, stderr.String())
	}
	fixed := stdout.String()
	var fixedObj map[string]any
	if err := yaml.Unmarshal([]byte(fixed), &fixedObj); err != nil {
		t.Fatalf("check --fix printed no manifest: %v\n%s", err, fixed)
	}
	fixedHPA := typed(t, fixedObj)
	if fixedHPA.Spec.MinReplicas == nil || *fixedHPA.Spec.MinReplicas != 2 || len(fixedHPA.Spec.Metrics) != 2 || fixedHPA.Spec.Behavior == nil {
		t.Fatalf("check --fix did not write the mutations:\n%s", fixed)
	}

	ctx := context.Background()
	reviews := func(result string) float64 {
		v, err := env.sg.MetricSum(ctx, "scaleguard_admission_reviews_total", `handler="hpa-mutate"`, `result="`+result+`"`)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	patchedBefore, allowedBefore := reviews("patched"), reviews("allowed")

	s := applyThreeWays(t, fixed)
	if strings.Contains(s.warnings, "Warning: [") {
		t.Errorf("scaleguard warned about the fixed manifest:\n%s", s.warnings)
	}
	for _, ns := range []string{s.clientSide, s.serverSide, s.argoServerSide} {
		stored := typed(t, live(t, ns, "checkout").Object)
		if !apiequality.Semantic.DeepEqual(stored.Spec, fixedHPA.Spec) {
			t.Errorf("%s: the stored spec is not the fixed manifest's:\nstored %+v\nfixed  %+v", ns, stored.Spec, fixedHPA.Spec)
		}
	}
	for _, d := range append(argoStrategies(s), argoDiff{"Argo CD ServerSideDiff=true", s.argoServerSide, serverSideDiff(false)}) {
		t.Run(d.name, func(t *testing.T) {
			res, fields := compare(t, fixed, d)
			if res.Modified || len(fields) > 0 {
				t.Errorf("drift in %v\npredicted: %s\nlive:      %s", fields, res.PredictedLive, res.NormalizedLive)
			}
		})
	}
	assertKubectlDiffsEmpty(t, fixed, s)

	// The three applies, the two server-side kubectl diffs and the
	// Server-Side Diff's dry run each asked the mutating webhook (the
	// configurations here have no matchConditions; plain kubectl diff
	// computes an empty patch and sends nothing); none was patched.
	if got := reviews("patched") - patchedBefore; got != 0 {
		t.Errorf("the mutating webhook patched %v of the fixed manifest's writes, want none", got)
	}
	if got := reviews("allowed") - allowedBefore; got < 6 {
		t.Errorf("the mutating webhook answered %v writes unpatched, want at least 6: it was not asked", got)
	}
}
