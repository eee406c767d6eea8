package testbed_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// wantKubeVersion is the kube-apiserver/kubectl version pinned in
// hack/tools/go.mod (k8s.io/kubernetes).
const wantKubeVersion = "v1.37.2"

func TestSmoke(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	t.Logf("control plane started in %s (binaries: %s)", bed.StartDuration, bed.BinDir)
	ctx := t.Context()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "testbed-smoke"}}
	if err := bed.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}

	t.Run("kubectl version", func(t *testing.T) {
		res, err := bed.Kubectl(ctx, "version", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			ClientVersion struct{ GitVersion, Major, Minor string }
			ServerVersion struct{ GitVersion, Major, Minor string }
		}
		if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil {
			t.Fatalf("decoding %q: %v", res.Stdout, err)
		}
		if v.ServerVersion.GitVersion != wantKubeVersion || v.ServerVersion.Major != "1" || v.ServerVersion.Minor != "37" {
			t.Errorf("server version = %+v, want %s (1.37)", v.ServerVersion, wantKubeVersion)
		}
		if v.ClientVersion.GitVersion != wantKubeVersion {
			t.Errorf("client version = %+v, want %s", v.ClientVersion, wantKubeVersion)
		}
		if strings.Contains(res.Stdout+res.Stderr, "master") || strings.Contains(strings.ToLower(res.Stderr), "warning") {
			t.Errorf("unexpected version warning; stdout=%s stderr=%s", res.Stdout, res.Stderr)
		}
	})

	t.Run("kubectl get ns", func(t *testing.T) {
		res, err := bed.Kubectl(ctx, "get", "ns", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"namespace/default", "namespace/kube-system", "namespace/testbed-smoke"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("kubectl get ns: missing %s in:\n%s", want, res.Stdout)
			}
		}
	})

	t.Run("kubectl apply dry-run=server", func(t *testing.T) {
		manifest := `apiVersion: v1
kind: ConfigMap
metadata: {name: smoke, namespace: testbed-smoke}
data: {a: b}
`
		res, err := bed.KubectlStdin(ctx, manifest, "apply", "--dry-run=server", "-f", "-", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(res.Stdout); got != "configmap/smoke" {
			t.Errorf("apply --dry-run=server printed %q", got)
		}
		if _, err := bed.Clientset.CoreV1().ConfigMaps("testbed-smoke").Get(ctx, "smoke", metav1.GetOptions{}); err == nil {
			t.Errorf("dry-run stored the ConfigMap")
		}
	})

	t.Run("helm", func(t *testing.T) {
		res, err := bed.Helm(ctx, "version", "--template", "{{.Version}}")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(res.Stdout); got != "v3.22.0" {
			t.Errorf("helm version = %q, want v3.22.0", got)
		}
		// Talks to the API server through the kubeconfig.
		res, err = bed.Helm(ctx, "list", "--all-namespaces", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(res.Stdout); got != "[]" {
			t.Errorf("helm list = %q, want []", got)
		}
	})
}
