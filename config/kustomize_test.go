package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// installNamespace is where config/default puts everything namespaced.
const installNamespace = "scaleguard-system"

// build renders a kustomization folder (relative to config/) the way
// `kustomize build DIR` does, with kustomize's default options.
func build(t *testing.T, dir string) []*unstructured.Unstructured {
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
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON, for the value types unstructured objects expect.
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		out = append(out, obj)
	}
	return out
}

func id(u *unstructured.Unstructured) string { return u.GetKind() + "/" + u.GetName() }

func TestBasesBuild(t *testing.T) {
	// Each base must build alone too: an overlay other than config/default
	// may take any of them.
	for dir, want := range map[string][]string{
		"default":     nil, // checked in detail by TestDefaultRender
		"webhook":     {"MutatingWebhookConfiguration/scaleguard", "Service/scaleguard-webhook-service", "ValidatingWebhookConfiguration/scaleguard"},
		"rbac":        {"ClusterRole/scaleguard-reader", "ClusterRoleBinding/scaleguard-reader", "Role/scaleguard-leader-election", "RoleBinding/scaleguard-leader-election", "ServiceAccount/scaleguard"},
		"manager":     {"ConfigMap/scaleguard-settings", "Deployment/scaleguard", "Namespace/scaleguard-system", "PodDisruptionBudget/scaleguard"},
		"certmanager": {"Certificate/scaleguard-serving-cert", "Issuer/scaleguard-selfsigned-issuer"},
		"crd":         {"CustomResourceDefinition/clusterscalingstandards.scaleguard.io", "CustomResourceDefinition/scalingstandards.scaleguard.io"},
	} {
		t.Run(dir, func(t *testing.T) {
			objs := build(t, dir)
			if len(objs) == 0 {
				t.Fatalf("kustomize build %s rendered nothing", dir)
			}
			if want == nil {
				return
			}
			var got []string
			for _, o := range objs {
				got = append(got, id(o))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("kustomize build %s rendered\n %v\nwant\n %v", dir, got, want)
			}
		})
	}
}

// clusterScoped are the kinds of the render that have no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true, "CustomResourceDefinition": true,
}

// TestDefaultRender checks what `kubectl apply -k config/default` would
// create: the objects, their namespace, and that the names they use to
// find each other (Service, Certificate, Secret, ConfigMap, ServiceAccount)
// agree after kustomize's transformations.
func TestDefaultRender(t *testing.T) {
	objs := build(t, "default")
	// `kubectl apply -f` creates in this order: the Namespace must exist
	// before anything in it, and the fail-closed webhooks only once the
	// rest is in place.
	if n := len(objs); n < 3 || objs[0].GetKind() != "Namespace" ||
		!strings.HasSuffix(objs[n-2].GetKind(), "WebhookConfiguration") || !strings.HasSuffix(objs[n-1].GetKind(), "WebhookConfiguration") {
		t.Errorf("config/default renders in the wrong order: want the Namespace first and the webhook configurations last")
	}
	byKind := map[string]*unstructured.Unstructured{}
	var got []string
	for _, o := range objs {
		got = append(got, id(o))
		if _, dup := byKind[o.GetKind()]; dup && o.GetKind() != "CustomResourceDefinition" {
			t.Errorf("two objects of kind %s", o.GetKind())
		}
		byKind[o.GetKind()] = o
		switch ns := o.GetNamespace(); {
		case clusterScoped[o.GetKind()] && ns != "":
			t.Errorf("%s is cluster-scoped but has namespace %q", id(o), ns)
		case !clusterScoped[o.GetKind()] && ns != installNamespace:
			t.Errorf("%s: namespace %q, want %s", id(o), ns, installNamespace)
		}
	}
	slices.Sort(got)
	want := []string{
		"Certificate/scaleguard-serving-cert",
		"ClusterRole/scaleguard-reader",
		"ClusterRoleBinding/scaleguard-reader",
		"ConfigMap/scaleguard-settings",
		"CustomResourceDefinition/clusterscalingstandards.scaleguard.io",
		"CustomResourceDefinition/scalingstandards.scaleguard.io",
		"Deployment/scaleguard",
		"Issuer/scaleguard-selfsigned-issuer",
		"MutatingWebhookConfiguration/scaleguard",
		"Namespace/" + installNamespace,
		"PodDisruptionBudget/scaleguard",
		"Role/scaleguard-leader-election",
		"RoleBinding/scaleguard-leader-election",
		"Service/scaleguard-webhook-service",
		"ServiceAccount/scaleguard",
		"ValidatingWebhookConfiguration/scaleguard",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("config/default rendered\n %v\nwant\n %v", got, want)
	}

	var (
		service    corev1.Service
		deployment appsv1.Deployment
		binding    rbacv1.ClusterRoleBinding
		mutating   admissionregistrationv1.MutatingWebhookConfiguration
		validating admissionregistrationv1.ValidatingWebhookConfiguration
	)
	for kind, typed := range map[string]any{
		"Service": &service, "Deployment": &deployment, "ClusterRoleBinding": &binding,
		"MutatingWebhookConfiguration": &mutating, "ValidatingWebhookConfiguration": &validating,
	} {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(byKind[kind].Object, typed, true); err != nil {
			t.Fatalf("rendered %s: %v", kind, err)
		}
	}
	cert, issuer := byKind["Certificate"], byKind["Issuer"]

	t.Run("webhooks call the rendered Service", func(t *testing.T) {
		var clients []admissionregistrationv1.WebhookClientConfig
		for _, w := range mutating.Webhooks {
			clients = append(clients, w.ClientConfig)
		}
		for _, w := range validating.Webhooks {
			clients = append(clients, w.ClientConfig)
		}
		if len(clients) != 7 {
			t.Errorf("%d webhooks, want 7", len(clients))
		}
		for _, c := range clients {
			if s := c.Service; s == nil || s.Name != service.Name || s.Namespace != service.Namespace {
				t.Errorf("webhook calls service %+v, want %s/%s", s, service.Namespace, service.Name)
			}
		}
	})

	t.Run("webhook configurations carry the common label", func(t *testing.T) {
		// manifests.yaml is generated without labels; config/webhook adds it.
		for _, o := range []*unstructured.Unstructured{byKind["MutatingWebhookConfiguration"], byKind["ValidatingWebhookConfiguration"]} {
			if got := o.GetLabels()["app.kubernetes.io/name"]; got != "scaleguard" {
				t.Errorf("%s: label app.kubernetes.io/name = %q, want scaleguard", id(o), got)
			}
		}
	})

	t.Run("cainjector annotation names the Certificate", func(t *testing.T) {
		want := cert.GetNamespace() + "/" + cert.GetName()
		if want != installNamespace+"/scaleguard-serving-cert" {
			t.Errorf("Certificate is %s", want)
		}
		for _, o := range []*unstructured.Unstructured{byKind["MutatingWebhookConfiguration"], byKind["ValidatingWebhookConfiguration"]} {
			if got := o.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != want {
				t.Errorf("%s: cert-manager.io/inject-ca-from = %q, want %q", id(o), got, want)
			}
		}
	})

	t.Run("certificate names the Service", func(t *testing.T) {
		dnsNames, _, err := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		if err != nil {
			t.Fatal(err)
		}
		host := fmt.Sprintf("%s.%s.svc", service.Name, service.Namespace)
		if want := []string{host, host + ".cluster.local"}; !slices.Equal(dnsNames, want) {
			t.Errorf("Certificate dnsNames %v, want %v", dnsNames, want)
		}
		if ref, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name"); ref != issuer.GetName() {
			t.Errorf("Certificate issuerRef.name %q, want the rendered Issuer %q", ref, issuer.GetName())
		}
	})

	t.Run("deployment mounts what the render creates", func(t *testing.T) {
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		pod := deployment.Spec.Template.Spec
		mounted := map[string]bool{}
		for _, v := range pod.Volumes {
			switch {
			case v.Secret != nil:
				mounted["Secret/"+v.Secret.SecretName] = true
			case v.ConfigMap != nil:
				mounted["ConfigMap/"+v.ConfigMap.Name] = true
			}
		}
		for _, want := range []string{"Secret/" + secretName, id(byKind["ConfigMap"])} {
			if !mounted[want] {
				t.Errorf("Deployment does not mount %s (mounts %v)", want, mounted)
			}
		}
		if sa := byKind["ServiceAccount"]; pod.ServiceAccountName != sa.GetName() {
			t.Errorf("Deployment runs as %q, want the rendered ServiceAccount %q", pod.ServiceAccountName, sa.GetName())
		}
		if s := binding.Subjects; len(s) != 1 || s[0].Name != pod.ServiceAccountName || s[0].Namespace != installNamespace {
			t.Errorf("ClusterRoleBinding subjects %+v, want the Deployment's ServiceAccount", s)
		}
	})

	t.Run("service selects the deployment's webhook port", func(t *testing.T) {
		for k, v := range service.Spec.Selector {
			if deployment.Spec.Template.Labels[k] != v {
				t.Errorf("Service selects %s=%s, the pod template has %q", k, v, deployment.Spec.Template.Labels[k])
			}
		}
		target := service.Spec.Ports[0].TargetPort.String()
		found := false
		for _, p := range deployment.Spec.Template.Spec.Containers[0].Ports {
			found = found || p.Name == target
		}
		if !found {
			t.Errorf("Service targetPort %q is not a container port of the Deployment", target)
		}
	})
}
