package certmanager_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// checkServingCertificate parses the serving certificate and checks what
// the chart asks of it: signed by the chart's CA, valid for 127.0.0.1 (the
// API server's URL) and the Service's DNS names, ECDSA.
func checkServingCertificate(t *testing.T, certPEM, caPEM []byte) *x509.Certificate {
	t.Helper()
	leaf, err := parseCertificate(certPEM)
	if err != nil {
		t.Fatalf("serving certificate: %v", err)
	}
	ca, err := parseCertificate(caPEM)
	if err != nil {
		t.Fatalf("CA certificate: %v", err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("serving certificate not signed by the chart's CA: %v", err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	if want := "sg-scaleguard-webhook." + releaseNamespace + ".svc"; !slices.Contains(leaf.DNSNames, want) {
		t.Errorf("serving certificate lacks %s: %v", want, leaf.DNSNames)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("serving certificate key is %s, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	return leaf
}

// checkRequests checks the CertificateRequests behind the chart's
// Certificates for what cert-manager's own webhook and RBAC added: the
// requester's identity, set by the webhook's mutating identity plugin, is
// the controller's ServiceAccount, and cert-manager's approver approved
// them, which the webhook's approval plugin allows only to a user with the
// chart's `approve` permission on the issuer's signer.
func checkRequests(t *testing.T, cm cmclient.Interface) {
	t.Helper()
	list, err := cm.CertmanagerV1().CertificateRequests(releaseNamespace).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) < 2 {
		t.Fatalf("%d CertificateRequests in %s, want one per Certificate", len(list.Items), releaseNamespace)
	}
	const controller = "system:serviceaccount:" + cmNamespace + ":cert-manager"
	for _, cr := range list.Items {
		if cr.Spec.Username != controller {
			t.Errorf("CertificateRequest %s: username %q, want %q (set by cert-manager's webhook)", cr.Name, cr.Spec.Username, controller)
		}
		if !apiutil.CertificateRequestIsApproved(&cr) {
			t.Errorf("CertificateRequest %s not approved: %+v", cr.Name, cr.Status.Conditions)
		}
	}
}

// caBundlesEqual checks every webhook of the configurations named name.
func caBundlesEqual(t *testing.T, bed *testbed.Testbed, name string, want []byte) error {
	t.Helper()
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := bed.Client.Get(t.Context(), client.ObjectKey{Name: name}, &m); err != nil {
		return err
	}
	if err := bed.Client.Get(t.Context(), client.ObjectKey{Name: name}, &v); err != nil {
		return err
	}
	bundles := map[string][]byte{}
	for _, w := range m.Webhooks {
		bundles["mutating "+w.Name] = w.ClientConfig.CABundle
	}
	for _, w := range v.Webhooks {
		bundles["validating "+w.Name] = w.ClientConfig.CABundle
	}
	for hook, got := range bundles {
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: caBundle is not the CA (%d bytes)", hook, len(got))
		}
	}
	return nil
}

func checkCABundles(t *testing.T, bed *testbed.Testbed, name string, want []byte) {
	t.Helper()
	if err := caBundlesEqual(t, bed, name, want); err != nil {
		t.Fatal(err)
	}
}

// checkKubectl makes the two requests a user would after installing: an
// HPA comes back patched, a Deployment without requests is refused.
func checkKubectl(t *testing.T, cmp *components, bed *testbed.Testbed) {
	t.Helper()
	cmp.eventually("kubectl apply --dry-run=server of an HPA is patched", 30*time.Second, func() error {
		return harness.HPAComesBackPatched(t.Context(), bed, "team-a")
	})
	if err := harness.DeploymentWithoutRequestsRefused(t.Context(), bed, "team-a"); err != nil {
		t.Fatal(err)
	}
}

func secretData(t *testing.T, bed *testbed.Testbed, namespace, name, key string) []byte {
	t.Helper()
	var s corev1.Secret
	if err := bed.Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Data[key]) == 0 {
		t.Fatalf("Secret %s/%s has no %s", namespace, name, key)
	}
	return s.Data[key]
}

func configMapData(t *testing.T, bed *testbed.Testbed, namespace, name, key string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := bed.Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data[key]
}

// quietClientset is an admin client without client-side rate limiting
// (bursts must reach the API server at once) that drops the API server's
// warnings, which scaleguard sends on every patched HPA.
func quietClientset(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
