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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

const releaseNamespace = "scaleguard-system"

// TestInstallUpgradeUninstall installs the chart into a real API server with
// the real helm, runs scaleguard with the certificate and settings the
// release stored, as the release's ServiceAccount, and checks that it writes
// the matchConditions of its settings into the configurations the chart
// installed without any and that the API server calls it; then upgrades
// (the certificate is kept, the settings change takes effect, Helm's change
// to the configurations and scaleguard's conditions both stay) and
// uninstalls (no webhook configuration is left behind).
//
// No kubelet runs in the test bed, so the chart's pods never start; scaleguard
// runs as a local process instead and the release points the webhooks at it
// with webhook.url (the certificate gets 127.0.0.1 through
// tls.extraIPAddresses). The ConfigMap reaches the process the way the
// kubelet would bring it: the test copies it into the watched file.
func TestInstallUpgradeUninstall(t *testing.T) {
	ctx := context.Background()
	bed := testbed.Start(t, testbed.Options{})
	root, bin := harness.BuildForTest(t)
	dir := t.TempDir()
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
	// scaleguard runs as the release's ServiceAccount, with the
	// configuration name its Deployment passes: the chart's RBAC is what
	// lets it read the cluster and keep the matchConditions of the
	// configurations the chart installed without any.
	var deployment appsv1.Deployment
	if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "sg-scaleguard"}, &deployment); err != nil {
		t.Fatal(err)
	}
	var nameArg string
	for _, a := range deployment.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--webhook-configuration-name=") {
			nameArg = a
		}
	}
	if nameArg != "--webhook-configuration-name=sg-scaleguard" {
		t.Fatalf("the Deployment passes %q, want the configurations' name", nameArg)
	}
	kubeconfig := filepath.Join(dir, "serviceaccount.kubeconfig")
	impersonate(t, bed.Kubeconfig, kubeconfig, "system:serviceaccount:"+releaseNamespace+":"+deployment.Spec.Template.Spec.ServiceAccountName)
	sg, err := harness.StartWith(ctx, bin, dir, harness.Options{
		Settings: settings(), Port: port,
		CA: secret.Data["ca.crt"], Cert: secret.Data["tls.crt"], Key: secret.Data["tls.key"],
		Kubeconfig: kubeconfig, Args: []string{nameArg},
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
	eventually(t, "scaleguard writes the matchConditions of its settings", func() error {
		return conditionsFollow(ctx, bed, settings())
	})
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
	withoutRequests := harness.DeploymentWithoutRequestsYAML(ns)

	// Upgrade: warn mode, and a timeout, which Helm patches into the
	// configurations scaleguard wrote the conditions of. The certificate is
	// reused, not regenerated.
	// The default ClusterScalingStandard is written from the same settings
	// (a post-upgrade hook, once the CRDs the install brought exist): the
	// API server's schema accepts it, scaleguard reads and validates it.
	helm("upgrade", "sg", chart, "--namespace", releaseNamespace, "--reuse-values", "--set", "settings.mode=warn", "--set", "webhook.timeoutSeconds=7",
		"--set", "standard.enabled=true")
	eventually(t, "the chart's default ClusterScalingStandard is valid and in force", func() error {
		res, err := bed.Kubectl(ctx, "get", "clusterscalingstandard", "default", "-o",
			`jsonpath={.status.conditions[?(@.type=="Accepted")].reason} {.status.effectiveMode}`)
		if err != nil {
			return err
		}
		if res.Stdout != "InForce warn" {
			return fmt.Errorf("Accepted reason and mode %q, want InForce warn", res.Stdout)
		}
		return nil
	})
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
		res, err := bed.KubectlStdin(ctx, withoutRequests, "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			return err
		}
		if !strings.Contains(res.Stderr, "not enforced: scaleguard is in warn mode") {
			return fmt.Errorf("no warn-mode warning: %s", res.Stderr)
		}
		return nil
	})
	// Helm's change and scaleguard's live side by side: neither undoes the
	// other.
	eventually(t, "the upgraded configurations keep the conditions of the upgraded settings", func() error {
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		if err := bed.Client.Get(ctx, client.ObjectKey{Name: "sg-scaleguard"}, &v); err != nil {
			return err
		}
		for _, w := range v.Webhooks {
			if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 7 {
				return fmt.Errorf("%s: timeoutSeconds %v after the upgrade set 7", w.Name, w.TimeoutSeconds)
			}
		}
		return conditionsFollow(ctx, bed, settings())
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
	// crds.keep: the CRDs, and the standards, outlive the release.
	for _, crd := range []string{"clusterscalingstandards.scaleguard.io", "scalingstandards.scaleguard.io"} {
		if _, err := bed.Kubectl(ctx, "get", "crd", crd); err != nil {
			t.Errorf("uninstall deleted CRD %s (crds.keep is on): %v", crd, err)
		}
	}
	// With scaleguard still running but uninstalled, writes no longer reach it.
	if _, err := bed.KubectlStdin(ctx, withoutRequests, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Errorf("after uninstall a write is still judged: %v", err)
	}
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, what, f)
}

// conditionsFollow says whether every webhook of both installed
// configurations has the matchConditions of settingsYAML.
func conditionsFollow(ctx context.Context, bed *testbed.Testbed, settingsYAML string) error {
	s, err := policies.ParseSettings([]byte(settingsYAML))
	if err != nil {
		return err
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := bed.Client.Get(ctx, client.ObjectKey{Name: "sg-scaleguard"}, &m); err != nil {
		return err
	}
	if err := bed.Client.Get(ctx, client.ObjectKey{Name: "sg-scaleguard"}, &v); err != nil {
		return err
	}
	got := map[string][]admissionregistrationv1.MatchCondition{}
	for _, w := range m.Webhooks {
		got[w.Name] = w.MatchConditions
	}
	for _, w := range v.Webhooks {
		got[w.Name] = w.MatchConditions
	}
	for _, w := range celpolicy.Webhooks {
		if !apiequality.Semantic.DeepEqual(got[string(w)], celpolicy.MatchConditions(w, &s)) {
			return fmt.Errorf("%s: %d matchConditions, not those of the settings", w, len(got[string(w)]))
		}
	}
	return nil
}

// impersonate writes a copy of kubeconfig src that acts as user, so that
// what the process using it may do is what RBAC grants user.
func impersonate(t *testing.T, src, dst, user string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = user
	}
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		t.Fatal(err)
	}
}
