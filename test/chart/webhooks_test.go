package chart

import (
	"encoding/base64"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// install is what a combo's values set of the fields the chart's template
// sets per install; the zero value is values.yaml's defaults.
type install struct {
	noCertManager  bool
	url            string
	mutating       admissionregistrationv1.FailurePolicyType
	validating     admissionregistrationv1.FailurePolicyType
	timeoutSeconds int32
}

// installs has an entry for every combo.
var installs = map[string]install{
	"default":           {},
	"generated-tls":     {noCertManager: true},
	"existing-issuer":   {},
	"all-optional-on":   {},
	"warn-mode-tls12":   {validating: admissionregistrationv1.Ignore},
	"external-endpoint": {noCertManager: true, url: "https://203.0.113.7:9443"},
	"webhook-overrides": {timeoutSeconds: 10, mutating: admissionregistrationv1.Fail},
	"secure-metrics":    {},
}

// options are the generator's options for release sg in scaleguard-system
// with these values; labels, the CA bundle and the settings are taken from
// the render (the chart's common labels, as on its Service; the CA of its
// Secret; the settings of its ConfigMap).
func (in install) options(t *testing.T, objs []map[string]any) configuration.ConfigurationOptions {
	t.Helper()
	var labels map[string]string
	svc, _ := find(t, objs, "Service")["metadata"].(map[string]any)["labels"].(map[string]any)
	for k, v := range svc {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k], _ = v.(string)
	}
	o := configuration.ConfigurationOptions{
		Name:                    "sg-scaleguard",
		Labels:                  labels,
		URL:                     in.url,
		MutatingFailurePolicy:   cmpOr(in.mutating, admissionregistrationv1.Ignore),
		ValidatingFailurePolicy: cmpOr(in.validating, admissionregistrationv1.Fail),
		TimeoutSeconds:          cmpOr(in.timeoutSeconds, 5),
		// The namespaceSelector is the one of the settings the chart
		// renders for scaleguard: one list of exempt namespaces.
		Settings: renderedSettings(t, objs),
	}
	if in.url == "" {
		o.Service = &admissionregistrationv1.ServiceReference{Namespace: releaseNamespace, Name: "sg-scaleguard-webhook", Port: ptr.To[int32](443)}
	}
	if in.noCertManager {
		secret := find(t, objs, "Secret")
		ca, err := base64.StdEncoding.DecodeString(secret["data"].(map[string]any)["ca.crt"].(string))
		if err != nil {
			t.Fatalf("Secret ca.crt: %v", err)
		}
		o.CABundle = ca
	} else {
		o.Annotations = map[string]string{"cert-manager.io/inject-ca-from": releaseNamespace + "/sg-scaleguard-serving"}
	}
	return o
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// TestWebhookConfigurationsAreTheGenerators renders every combo and checks
// that both configurations are exactly what webhook/configuration makes
// with the per-install fields set as the values ask: the template adds no
// webhook, rule, path or policy of its own, and, like the generator
// without settings, no matchConditions (scaleguard serve writes those).
func TestWebhookConfigurationsAreTheGenerators(t *testing.T) {
	for name, values := range combos {
		t.Run(name, func(t *testing.T) {
			in, ok := installs[name]
			if !ok {
				t.Fatalf("combo %s has no entry in installs: say what its values set of the per-install fields", name)
			}
			objs := objects(t, render(t, values...))
			var mutating admissionregistrationv1.MutatingWebhookConfiguration
			var validating admissionregistrationv1.ValidatingWebhookConfiguration
			decodeInto(t, find(t, objs, "MutatingWebhookConfiguration"), &mutating)
			decodeInto(t, find(t, objs, "ValidatingWebhookConfiguration"), &validating)
			for _, w := range mutating.Webhooks {
				if len(w.MatchConditions) > 0 {
					t.Errorf("%s has matchConditions; scaleguard serve writes them, the chart must not", w.Name)
				}
			}
			for _, w := range validating.Webhooks {
				if len(w.MatchConditions) > 0 {
					t.Errorf("%s has matchConditions; scaleguard serve writes them, the chart must not", w.Name)
				}
			}
			wantMutating, wantValidating := configuration.Configurations(in.options(t, objs))
			sameYAML(t, "MutatingWebhookConfiguration", &mutating, wantMutating)
			sameYAML(t, "ValidatingWebhookConfiguration", &validating, wantValidating)
		})
	}
}

func sameYAML(t *testing.T, kind string, got, want any) {
	t.Helper()
	g, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s: rendered (-) differs from generated (+); run `make generate` if webhook/configuration changed:\n%s", kind, diffLines(string(g), string(w)))
	}
}
