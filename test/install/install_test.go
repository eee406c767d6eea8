// Package install installs config/default, as kustomize renders it, on a
// real kube-apiserver that has cert-manager's CRDs, with the real kubectl,
// and uninstalls it again.
//
// The test bed runs no kubelet and no controllers, so no scaleguard pod
// ever answers: what is checked is that every object passes the API
// server's strict validation (cert-manager's schemas included) and is
// stored, that the webhook configurations are live, and that deleting the
// render leaves none of them behind. The package has its own test bed:
// scaleguard's validating webhooks fail closed, and the e2e package's
// shared one must never see them.
//
// cert-manager's CRDs come from its module (see certmanager_test.go): the
// test needs the Go module proxy, or a module cache that already has
// cert-manager at the pinned version (then GOPROXY=off works).
package install

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// render is config/default as `kustomize build` prints it, and as objects.
type render struct {
	yaml    string
	objects []*unstructured.Unstructured
}

func renderDefault(t *testing.T, dir string) render {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	// The order of `kustomize build` and `kubectl kustomize` (krusty's own
	// default keeps input order): a Namespace before what goes in it, the
	// webhook configurations after everything else.
	opts.Reorder = krusty.ReorderOptionUnspecified
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	text, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	out := render{yaml: string(text)}
	for _, r := range m.Resources() {
		// Through JSON, for the value types unstructured objects expect.
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		out.objects = append(out.objects, obj)
	}
	return out
}

func describe(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func TestConfigDefaultInstallsAndUninstalls(t *testing.T) {
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "config", "default")
	crds := certManagerCRDs(t)
	r := renderDefault(t, dir)

	// The test bed routes webhook calls to a Service's endpoints, of which
	// it has none (no kubelet, no controllers): they fail on the spot.
	bed := testbed.Start(t, testbed.Options{CRDDirectoryPaths: []string{crds}})
	t.Logf("control plane with cert-manager CRDs started in %s", bed.StartDuration)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// Registered after Start, so it runs before the test bed stops: a test
	// that fails half-way must not leave the API server with fail-closed
	// webhooks pointing at a Service nothing serves.
	t.Cleanup(func() { deleteWebhookConfigurations(t, bed.Client, r) })

	t.Run("kubectl kustomize renders the same", func(t *testing.T) {
		// What the kustomization's own comment tells users to run
		// (`kubectl apply -k`) goes through kubectl's built-in kustomize.
		res, err := bed.Kubectl(ctx, "kustomize", dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := parseYAMLStream(t, res.Stdout), parseYAMLStream(t, r.yaml); !reflect.DeepEqual(got, want) {
			t.Errorf("kubectl kustomize %s differs from the kustomize API's render:\n%s", dir, res.Stdout)
		}
	})

	// --validate=strict: the API server refuses unknown or duplicate fields
	// (for the cert-manager kinds, against their CRD schemas) instead of
	// dropping them.
	res, err := bed.KubectlStdin(ctx, r.yaml, "apply", "--validate=strict", "-f", "-")
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, res.Stdout)
	}
	if strings.Contains(res.Stderr, "Warning") {
		t.Errorf("kubectl apply warned:\n%s", res.Stderr)
	}
	if lines := strings.Split(strings.TrimSpace(res.Stdout), "\n"); len(lines) != len(r.objects) {
		t.Errorf("kubectl apply printed %d lines for %d objects:\n%s", len(lines), len(r.objects), res.Stdout)
	}

	// resourceVersions of the stored objects, by describe().
	versions := map[string]string{}
	t.Run("every object is stored", func(t *testing.T) {
		for _, want := range r.objects {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(want.GroupVersionKind())
			if err := bed.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
				t.Errorf("%s: %v", describe(want), err)
				continue
			}
			versions[describe(want)] = got.GetResourceVersion()
			// What the server kept of the spec includes everything the
			// render said (it may add defaults).
			if spec, ok := want.Object["spec"]; ok && !contains(got.Object["spec"], spec) {
				t.Errorf("%s: stored spec %v lacks some of the rendered %v", describe(want), got.Object["spec"], spec)
			}
		}
	})

	t.Run("applying again writes nothing", func(t *testing.T) {
		// kubectl may still print "configured" for a Deployment or a PDB
		// (client-side apply sends no-op $retainKeys and selector patches);
		// what matters is that the server stores no change, which keeps
		// the resourceVersion.
		if _, err := bed.KubectlStdin(ctx, r.yaml, "apply", "--validate=strict", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		for _, want := range r.objects {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(want.GroupVersionKind())
			if err := bed.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
				t.Errorf("%s: %v", describe(want), err)
			} else if v := got.GetResourceVersion(); v != versions[describe(want)] {
				t.Errorf("%s: resourceVersion %s after the second apply, %s after the first", describe(want), v, versions[describe(want)])
			}
		}
	})

	t.Run("webhooks are live outside the install namespace only", func(t *testing.T) {
		// No pod serves the webhooks, so a fail-closed call fails: proof
		// that the API server calls them. The install namespace is exempt
		// by its label, so scaleguard can always be repaired.
		probe := "install-probe"
		if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probe}}); err != nil {
			t.Fatal(err)
		}
		err := bed.Client.Create(ctx, deployment(probe), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), `failed calling webhook "workload.validate.scaleguard.io"`) ||
			!strings.Contains(err.Error(), "no endpoints available") {
			t.Errorf("a Deployment in %s: got %v, want a failed call to workload.validate.scaleguard.io (no endpoints)", probe, err)
		}
		if err := bed.Client.Create(ctx, deployment("scaleguard-system"), client.DryRunAll); err != nil {
			t.Errorf("a Deployment in scaleguard-system went through the webhook: %v", err)
		}
	})

	// --wait=false: the test bed runs no namespace controller, so the
	// Namespace stays Terminating and kubectl would wait for it forever.
	res, err = bed.KubectlStdin(ctx, r.yaml, "delete", "--wait=false", "-f", "-")
	if err != nil {
		t.Fatalf("kubectl delete: %v\n%s", err, res.Stdout)
	}
	for _, want := range r.objects {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(want.GroupVersionKind())
		err := bed.Client.Get(ctx, client.ObjectKeyFromObject(want), got)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			t.Errorf("%s: %v", describe(want), err)
		case want.GetKind() == "Namespace" && got.GetDeletionTimestamp() != nil:
			// Terminating; the namespace controller would finish it.
		case want.GetKind() == "CustomResourceDefinition" && got.GetDeletionTimestamp() != nil:
			// The API server's own finalizer removes its objects first,
			// then the definition, after the delete returned: usually a
			// moment, but its controller polls the objects' removal every
			// 5 s and retries with a back-off, and once on a loaded CI
			// machine it took over 30 s.
			const within = 2 * time.Minute
			start := time.Now()
			for err == nil && time.Since(start) < within {
				time.Sleep(100 * time.Millisecond)
				err = bed.Client.Get(ctx, client.ObjectKeyFromObject(want), got)
			}
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s is still there %s after kubectl delete: %v", describe(want), within, err)
			} else {
				t.Logf("%s gone %s after kubectl delete", describe(want), time.Since(start).Round(100*time.Millisecond))
			}
		default:
			t.Errorf("%s is still there after kubectl delete", describe(want))
		}
	}
	var mutating admissionregistrationv1.MutatingWebhookConfigurationList
	var validating admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := bed.Client.List(ctx, &mutating); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.List(ctx, &validating); err != nil {
		t.Fatal(err)
	}
	if n := len(mutating.Items) + len(validating.Items); n != 0 {
		t.Errorf("%d webhook configurations left after kubectl delete", n)
	}
}

// deleteWebhookConfigurations deletes the render's webhook configurations
// if they are still there.
func deleteWebhookConfigurations(t *testing.T, c client.Client, r render) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range r.objects {
		switch o.GetKind() {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			if err := c.Delete(ctx, o.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("cleanup: deleting %s: %v", describe(o), err)
			}
		}
	}
}

// deployment is a Deployment that scaleguard would accept, so that only a
// failed webhook call can refuse it.
func deployment(ns string) *appsv1.Deployment {
	labels := map[string]string{"app": "probe"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   new(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "app", Image: "example.com/app:1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: new(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

// contains reports whether got has every field and list item of want, with
// the same values; got may have more fields (server defaults).
func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !contains(g[k], wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !contains(g[i], w[i]) {
				return false
			}
		}
		return true
	default:
		// Numbers differ in type between the render (int64) and the
		// decoded response (int64 or float64): compare their text.
		return fmt.Sprint(got) == fmt.Sprint(want)
	}
}

func parseYAMLStream(t *testing.T, s string) []any {
	t.Helper()
	var out []any
	for _, doc := range strings.Split(s, "\n---\n") {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}
