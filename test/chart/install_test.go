package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

const releaseNamespace = "scaleguard-system"

// TestInstallUpgradeUninstall installs the chart into a real API server with
// the real helm, runs scaleguard with the certificate and settings the
// release stored, and checks that the API server calls it; then upgrades
// (the certificate is kept, the settings change takes effect) and uninstalls
// (no webhook configuration is left behind).
//
// No kubelet runs in the test bed, so the chart's pods never start; scaleguard
// runs as a local process instead and the release points the webhooks at it
// with webhook.url (the certificate gets 127.0.0.1 through
// tls.extraIPAddresses). The ConfigMap reaches the process the way the
// kubelet would bring it: the test copies it into the watched file.
func TestInstallUpgradeUninstall(t *testing.T) {
	ctx := context.Background()
	bed := testbed.Start(t, testbed.Options{})
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := harness.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	chart := filepath.Join(root, "charts", "scaleguard")
	helm := func(args ...string) testbed.Result {
		t.Helper()
		res, err := bed.Helm(ctx, args...)
		if err != nil {
			t.Fatalf("helm %v: %v", args, err)
		}
		return res
	}

	res := helm("install", "sg", chart, "--namespace", releaseNamespace, "--create-namespace",
		"--set", "certManager.enabled=false",
		"--set", "webhook.url=https://127.0.0.1:"+strconv.Itoa(port),
		"--set", "tls.extraIPAddresses={127.0.0.1}")
	if !strings.Contains(res.Stdout, "kubectl apply --dry-run=server") {
		t.Errorf("NOTES do not tell how to verify the install:\n%s", res.Stdout)
	}

	secret := &corev1.Secret{}
	if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "sg-scaleguard-tls"}, secret); err != nil {
		t.Fatal(err)
	}
	settings := func() string {
		cm := &corev1.ConfigMap{}
		if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "sg-scaleguard-settings"}, cm); err != nil {
			t.Fatal(err)
		}
		return cm.Data["settings.yaml"]
	}
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{
		Settings: settings(), Port: port,
		CA: secret.Data["ca.crt"], Cert: secret.Data["tls.crt"], Key: secret.Data["tls.key"],
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sg.Stop() })

	// The webhook configurations carry the release's CA from the start: no
	// empty caBundle to race. The first dry run is patched by scaleguard.
	var hooks admissionregistrationv1.ValidatingWebhookConfiguration
	if err := bed.Client.Get(ctx, client.ObjectKey{Name: "sg-scaleguard"}, &hooks); err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks.Webhooks {
		if string(h.ClientConfig.CABundle) != string(secret.Data["ca.crt"]) {
			t.Errorf("%s caBundle is not the release's CA", h.Name)
		}
	}
	ns := "team-a"
	if err := bed.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the API server calls the installed webhooks", func() error {
		return harness.HPAComesBackPatched(ctx, bed, ns)
	})
	if err := harness.DeploymentWithoutRequestsRefused(ctx, bed, ns); err != nil {
		t.Fatal(err)
	}
	deployment := harness.DeploymentWithoutRequestsYAML(ns)

	// Upgrade: warn mode. The certificate is reused, not regenerated.
	helm("upgrade", "sg", chart, "--namespace", releaseNamespace, "--reuse-values", "--set", "settings.mode=warn")
	after := &corev1.Secret{}
	if err := bed.Client.Get(ctx, client.ObjectKeyFromObject(secret), after); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if string(after.Data[k]) != string(secret.Data[k]) {
			t.Errorf("upgrade regenerated %s", k)
		}
	}
	if err := os.WriteFile(sg.SettingsPath(), []byte(settings()), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the upgraded settings take effect without a restart", func() error {
		res, err := bed.KubectlStdin(ctx, deployment, "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			return err
		}
		if !strings.Contains(res.Stderr, "not enforced: scaleguard is in warn mode") {
			return fmt.Errorf("no warn-mode warning: %s", res.Stderr)
		}
		return nil
	})

	helm("uninstall", "sg", "--namespace", releaseNamespace)
	var mutating admissionregistrationv1.MutatingWebhookConfigurationList
	var validating admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := bed.Client.List(ctx, &mutating); err != nil {
		t.Fatal(err)
	}
	if err := bed.Client.List(ctx, &validating); err != nil {
		t.Fatal(err)
	}
	if len(mutating.Items)+len(validating.Items) != 0 {
		t.Errorf("uninstall left webhook configurations behind: %d mutating, %d validating", len(mutating.Items), len(validating.Items))
	}
	// With scaleguard still running but uninstalled, writes no longer reach it.
	if _, err := bed.KubectlStdin(ctx, deployment, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Errorf("after uninstall a write is still judged: %v", err)
	}
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, what, f)
}
