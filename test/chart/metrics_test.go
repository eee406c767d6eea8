package chart

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// serviceMonitor is the part of a Prometheus Operator ServiceMonitor the
// chart writes (monitoring.coreos.com/v1; its Go types are not a
// dependency). Decoding is strict, so a misspelt field fails.
type serviceMonitor struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       struct {
		Selector          map[string]any `json:"selector"`
		NamespaceSelector map[string]any `json:"namespaceSelector"`
		Endpoints         []struct {
			Port            string `json:"port"`
			Path            string `json:"path"`
			Interval        string `json:"interval"`
			Scheme          string `json:"scheme"`
			BearerTokenFile string `json:"bearerTokenFile"`
			Authorization   *struct {
				Type        string    `json:"type"`
				Credentials secretKey `json:"credentials"`
			} `json:"authorization"`
			TLSConfig *struct {
				InsecureSkipVerify bool   `json:"insecureSkipVerify"`
				ServerName         string `json:"serverName"`
				CA                 *struct {
					Secret secretKey `json:"secret"`
				} `json:"ca"`
			} `json:"tlsConfig"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type secretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// named finds the object of kind and name in a render, or nil.
func named(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind && o["metadata"].(map[string]any)["name"] == name {
			return o
		}
	}
	return nil
}

// secureMetricsValues turn metrics.secure on with the ServiceMonitor, and
// bind one Prometheus to the reader role.
var secureMetricsValues = []string{"--set", "metrics.secure=true", "--set", "metrics.serviceMonitor.enabled=true",
	"--set-json", `metrics.readers=[{"kind":"ServiceAccount","name":"prometheus-k8s","namespace":"monitoring"}]`}

// TestSecureMetricsRender: metrics.secure gives `scaleguard serve`
// --metrics-secure, scaleguard the right to ask the API server about a
// scraper, a reader ClusterRole (bound to metrics.readers), and a
// ServiceMonitor that scrapes over HTTPS with a bearer token and checks the
// certificate against the serving certificate's CA and DNS name. The
// default render has none of it, and the probes are never on the metrics
// port.
func TestSecureMetricsRender(t *testing.T) {
	objs := objects(t, render(t, secureMetricsValues...))
	var d appsv1.Deployment
	decodeInto(t, find(t, objs, "Deployment"), &d)
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--metrics-secure") {
		t.Errorf("args %v lack --metrics-secure", c.Args)
	}
	for name, p := range map[string]string{"readiness": c.ReadinessProbe.HTTPGet.Port.String(), "liveness": c.LivenessProbe.HTTPGet.Port.String()} {
		if p != "probes" {
			t.Errorf("the %s probe is on port %q, want the plain-HTTP probes port", name, p)
		}
	}

	var auth rbacv1.ClusterRole
	decodeInto(t, mustNamed(t, objs, "ClusterRole", "sg-scaleguard-metrics-auth"), &auth)
	wantAuth := []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}
	if !apiequality.Semantic.DeepEqual(auth.Rules, wantAuth) {
		t.Errorf("metrics-auth rules %+v, want %+v", auth.Rules, wantAuth)
	}
	var authBinding rbacv1.ClusterRoleBinding
	decodeInto(t, mustNamed(t, objs, "ClusterRoleBinding", "sg-scaleguard-metrics-auth"), &authBinding)
	wantSA := []rbacv1.Subject{{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: "scaleguard-system"}}
	if authBinding.RoleRef.Name != auth.Name || !apiequality.Semantic.DeepEqual(authBinding.Subjects, wantSA) {
		t.Errorf("metrics-auth binding %+v, want %s bound to %+v", authBinding, auth.Name, wantSA)
	}

	var reader rbacv1.ClusterRole
	decodeInto(t, mustNamed(t, objs, "ClusterRole", "sg-scaleguard-metrics-reader"), &reader)
	wantReader := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
	if !apiequality.Semantic.DeepEqual(reader.Rules, wantReader) {
		t.Errorf("metrics-reader rules %+v, want %+v", reader.Rules, wantReader)
	}
	var readerBinding rbacv1.ClusterRoleBinding
	decodeInto(t, mustNamed(t, objs, "ClusterRoleBinding", "sg-scaleguard-metrics-reader"), &readerBinding)
	wantPrometheus := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus-k8s", Namespace: "monitoring"}}
	if readerBinding.RoleRef.Name != reader.Name || !apiequality.Semantic.DeepEqual(readerBinding.Subjects, wantPrometheus) {
		t.Errorf("metrics-reader binding %+v, want %s bound to %+v", readerBinding, reader.Name, wantPrometheus)
	}

	// The ServiceMonitor verifies the certificate the pods serve: the
	// Certificate's Secret's CA, one of its DNS names.
	var sm serviceMonitor
	decodeInto(t, find(t, objs, "ServiceMonitor"), &sm)
	e := sm.Spec.Endpoints[0]
	if e.Scheme != "https" || e.BearerTokenFile != "/var/run/secrets/kubernetes.io/serviceaccount/token" || e.Authorization != nil {
		t.Errorf("endpoint: scheme %q, bearerTokenFile %q, authorization %+v: want https with Prometheus's own token", e.Scheme, e.BearerTokenFile, e.Authorization)
	}
	var cert map[string]any // the serving Certificate's spec, not the CA's
	for _, o := range objs {
		if spec, ok := o["spec"].(map[string]any); ok && o["kind"] == "Certificate" && spec["isCA"] != true {
			cert = spec
		}
	}
	if cert == nil {
		t.Fatal("no serving Certificate rendered")
	}
	if tc := e.TLSConfig; tc == nil || tc.InsecureSkipVerify || tc.CA == nil ||
		tc.CA.Secret != (secretKey{Name: cert["secretName"].(string), Key: "ca.crt"}) ||
		!slices.Contains(cert["dnsNames"].([]any), any(tc.ServerName)) {
		t.Errorf("tlsConfig %+v: want the CA of Secret %v and a DNS name of %v", tc, cert["secretName"], cert["dnsNames"])
	}

	// A token from a Secret instead, and no verification when asked.
	objs = objects(t, render(t, append(slices.Clone(secureMetricsValues),
		"--set", "metrics.serviceMonitor.bearerTokenSecret.name=prometheus-token", "--set", "metrics.serviceMonitor.bearerTokenSecret.key=token",
		"--set", "metrics.serviceMonitor.insecureSkipVerify=true")...))
	sm = serviceMonitor{}
	decodeInto(t, find(t, objs, "ServiceMonitor"), &sm)
	e = sm.Spec.Endpoints[0]
	if e.BearerTokenFile != "" || e.Authorization == nil || e.Authorization.Type != "Bearer" ||
		e.Authorization.Credentials != (secretKey{Name: "prometheus-token", Key: "token"}) {
		t.Errorf("with bearerTokenSecret: bearerTokenFile %q, authorization %+v", e.BearerTokenFile, e.Authorization)
	}
	if tc := e.TLSConfig; tc == nil || !tc.InsecureSkipVerify || tc.CA != nil || tc.ServerName != "" {
		t.Errorf("with insecureSkipVerify: tlsConfig %+v", tc)
	}

	// Off (the default): plain HTTP, no role to ask or to read.
	objs = objects(t, render(t, "--set", "metrics.serviceMonitor.enabled=true"))
	decodeInto(t, find(t, objs, "Deployment"), &d)
	if slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--metrics-secure") {
		t.Error("the default render passes --metrics-secure")
	}
	for _, name := range []string{"sg-scaleguard-metrics-auth", "sg-scaleguard-metrics-reader"} {
		if named(objs, "ClusterRole", name) != nil || named(objs, "ClusterRoleBinding", name) != nil {
			t.Errorf("the default render has %s", name)
		}
	}
	sm = serviceMonitor{}
	decodeInto(t, find(t, objs, "ServiceMonitor"), &sm)
	if e := sm.Spec.Endpoints[0]; e.Scheme != "" || e.BearerTokenFile != "" || e.TLSConfig != nil {
		t.Errorf("the default ServiceMonitor scrapes with %+v, want plain HTTP", e)
	}
	if strings.Contains(render(t, "--set", "metrics.secure=true", "--set", "rbac.create=false"), "metrics-reader") {
		t.Error("rbac.create=false renders the metrics roles")
	}
}

func mustNamed(t *testing.T, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	o := named(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s %s rendered", kind, name)
	}
	return o
}
