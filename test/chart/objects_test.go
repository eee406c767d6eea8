package chart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

func decodeInto(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s does not decode strictly: %v", obj["kind"], err)
	}
}

func TestDeploymentIsHardened(t *testing.T) {
	objs := objects(t, render(t))
	var d appsv1.Deployment
	decodeInto(t, find(t, objs, "Deployment"), &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context: %+v", pod.SecurityContext)
	}
	if len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("topology spread: %+v", pod.TopologySpreadConstraints)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context: %+v", sc)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %+v liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--tls-min-version=1.3") {
		t.Errorf("args %v lack TLS 1.3", c.Args)
	}
	if c.Image != "ghcr.io/scaleguard/scaleguard:0.1.0" {
		t.Errorf("image %q, want the project image at the chart's appVersion", c.Image)
	}
	find(t, objs, "PodDisruptionBudget")
	with := objects(t, render(t, "--set", "priorityClassName=system-cluster-critical"))
	decodeInto(t, find(t, with, "Deployment"), &d)
	if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName not set")
	}
}

// TestChartPassesItsOwnRules runs scaleguard's rules over the chart's
// Deployment and optional HPA: the webhook meets the standard it enforces.
func TestChartPassesItsOwnRules(t *testing.T) {
	out := render(t, "--set", "autoscaling.enabled=true")
	docs, err := manifests.Parse("helm template", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	s := policies.Defaults()
	report, err := manifests.Check(docs, &s)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range report.Results {
		if r.Doc.Kind == "Deployment" || r.Doc.Kind == "HorizontalPodAutoscaler" {
			checked++
		}
		if len(r.Findings) > 0 {
			t.Errorf("%s %s: %v", r.Doc.Kind, r.Doc.Name, r.Findings)
		}
	}
	if checked != 2 {
		t.Errorf("checked %d of Deployment and HPA, want 2", checked)
	}
}

func TestSettingsConfigMapIsTheStandard(t *testing.T) {
	var cm corev1.ConfigMap
	decodeInto(t, find(t, objects(t, render(t)), "ConfigMap"), &cm)
	s, err := policies.ParseSettings([]byte(cm.Data["settings.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	// The chart exempts its own namespace beside the standard's, so that a
	// broken scaleguard can always be repaired.
	want := policies.Defaults()
	want.ExemptNamespaces = append(want.ExemptNamespaces, releaseNamespace)
	if !apiequality.Semantic.DeepEqual(s, want) {
		t.Errorf("values.yaml settings differ from the built-in defaults (and the release namespace exempt):\n%+v\n%+v", s, want)
	}
}

func TestWebhookConfigurations(t *testing.T) {
	for _, combo := range []string{"default", "generated-tls"} {
		t.Run(combo, func(t *testing.T) {
			objs := objects(t, render(t, combos[combo]...))
			var hooks []map[string]any
			for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
				o := find(t, objs, kind)
				ann, _ := o["metadata"].(map[string]any)["annotations"].(map[string]any)
				injected := ann["cert-manager.io/inject-ca-from"]
				if combo == "default" && injected != "scaleguard-system/sg-scaleguard-serving" {
					t.Errorf("%s inject-ca-from = %v", kind, injected)
				}
				if combo != "default" && injected != nil {
					t.Errorf("%s has inject-ca-from without cert-manager", kind)
				}
				for _, h := range o["webhooks"].([]any) {
					hooks = append(hooks, h.(map[string]any))
				}
			}
			if len(hooks) != 7 {
				t.Fatalf("want 7 webhooks, got %d", len(hooks))
			}
			var ca string
			if combo == "generated-tls" {
				for _, o := range objs {
					if o["kind"] == "Secret" {
						ca = o["data"].(map[string]any)["ca.crt"].(string)
					}
				}
				if pem, err := base64.StdEncoding.DecodeString(ca); err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
					t.Fatalf("Secret ca.crt is not a PEM certificate: %v", err)
				}
				assertServingCert(t, objs)
			}
			for _, h := range hooks {
				name := h["name"].(string)
				if h["matchPolicy"] != "Equivalent" || h["sideEffects"] != "None" {
					t.Errorf("%s: matchPolicy %v sideEffects %v", name, h["matchPolicy"], h["sideEffects"])
				}
				for _, r := range h["rules"].([]any) {
					for _, res := range r.(map[string]any)["resources"].([]any) {
						if strings.Contains(res.(string), "/") {
							t.Errorf("%s intercepts subresource %s", name, res)
						}
					}
				}
				sel, _ := yaml.Marshal(h["namespaceSelector"])
				for _, ns := range []string{"kube-system", "scaleguard-system", "scaleguard.io/ignore"} {
					if !strings.Contains(string(sel), ns) {
						t.Errorf("%s namespaceSelector does not exclude %s:\n%s", name, ns, sel)
					}
				}
				want := map[string]string{"hpa.mutate.scaleguard.io": "Ignore", "hpa.validate.scaleguard.io": "Fail",
					"workload.mutate.scaleguard.io": "Ignore", "workload.validate.scaleguard.io": "Fail",
					"vpa.validate.scaleguard.io": "Fail", "so.validate.scaleguard.io": "Fail",
					"scalingstandard.validate.scaleguard.io": "Fail"}[name]
				if h["failurePolicy"] != want {
					t.Errorf("%s failurePolicy %v, want %s", name, h["failurePolicy"], want)
				}
				if strings.Contains(name, ".mutate.") && h["reinvocationPolicy"] != "IfNeeded" {
					t.Errorf("mutating webhook reinvocationPolicy %v", h["reinvocationPolicy"])
				}
				cc := h["clientConfig"].(map[string]any)
				if combo == "generated-tls" && cc["caBundle"] != ca {
					t.Errorf("%s caBundle is not the Secret's CA", name)
				}
			}
		})
	}
}

// assertServingCert checks the generated serving certificate: ECDSA P-256,
// for the Service's DNS names, signed by the CA in the same Secret.
func assertServingCert(t *testing.T, objs []map[string]any) {
	t.Helper()
	var data map[string]any
	for _, o := range objs {
		if o["kind"] == "Secret" {
			data = o["data"].(map[string]any)
		}
	}
	decode := func(key string) []byte {
		b, err := base64.StdEncoding.DecodeString(data[key].(string))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caBlock, _ := pem.Decode(decode("ca.crt"))
	certBlock, _ := pem.Decode(decode("tls.crt"))
	if caBlock == nil || certBlock == nil {
		t.Fatal("ca.crt or tls.crt is not PEM")
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("serving key is %T, want ECDSA P-256", cert.PublicKey)
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		t.Errorf("serving certificate not signed by the CA: %v", err)
	}
	if err := cert.VerifyHostname("sg-scaleguard-webhook.scaleguard-system.svc"); err != nil {
		t.Error(err)
	}
}

// TestClientCA: with tls.clientCAConfigMap the pod mounts that ConfigMap and
// `scaleguard serve` reads its ca.crt as --client-ca-file; without it,
// neither (any caller, the default).
func TestClientCA(t *testing.T) {
	var d appsv1.Deployment
	decodeInto(t, find(t, objects(t, render(t, "--set", "tls.clientCAConfigMap=apiserver-client-ca")), "Deployment"), &d)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--client-ca-file=/etc/scaleguard/client-ca/ca.crt") {
		t.Errorf("args %v lack --client-ca-file", c.Args)
	}
	mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "client-ca" && m.MountPath == "/etc/scaleguard/client-ca"
	})
	fromConfigMap := slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool {
		return v.Name == "client-ca" && v.ConfigMap != nil && v.ConfigMap.Name == "apiserver-client-ca"
	})
	if !mounted || !fromConfigMap {
		t.Errorf("the client CA ConfigMap is not mounted: mounts %+v, volumes %+v", c.VolumeMounts, pod.Volumes)
	}
	decodeInto(t, find(t, objects(t, render(t)), "Deployment"), &d)
	if strings.Contains(strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "), "--client-ca-file") {
		t.Error("the default render asks callers for a client certificate")
	}
}

// TestWatchWorkloads: clusterView.watchWorkloads=true reaches `scaleguard
// serve` as --watch-workloads=true; the default reads workloads on demand.
func TestWatchWorkloads(t *testing.T) {
	args := func(values ...string) []string {
		var d appsv1.Deployment
		decodeInto(t, find(t, objects(t, render(t, values...)), "Deployment"), &d)
		return d.Spec.Template.Spec.Containers[0].Args
	}
	if a := args("--set", "clusterView.watchWorkloads=true"); !slices.Contains(a, "--watch-workloads=true") {
		t.Errorf("args %v lack --watch-workloads=true", a)
	}
	if a := args(); slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, "--watch-workloads") }) {
		t.Errorf("the default render sets %v", a)
	}
}

// TestMemoryLimitReachesTheProcess: the container's memory limit is given
// to `scaleguard serve` in bytes through the downward API, from which it
// sets the Go runtime's soft limit.
func TestMemoryLimitReachesTheProcess(t *testing.T) {
	var d appsv1.Deployment
	decodeInto(t, find(t, objects(t, render(t)), "Deployment"), &d)
	c := d.Spec.Template.Spec.Containers[0]
	found := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		r := e.ValueFrom
		return e.Name == "SCALEGUARD_MEMORY_LIMIT" && r != nil && r.ResourceFieldRef != nil &&
			r.ResourceFieldRef.ContainerName == c.Name && r.ResourceFieldRef.Resource == "limits.memory" &&
			r.ResourceFieldRef.Divisor.String() == "1"
	})
	if !found {
		t.Errorf("env %+v: no SCALEGUARD_MEMORY_LIMIT from limits.memory in bytes", c.Env)
	}
	if c.Resources.Limits.Memory().String() != "256Mi" {
		t.Errorf("memory limit %s, want the 256Mi docs/operations.md sizes", c.Resources.Limits.Memory())
	}
}
