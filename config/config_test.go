// Package config_test keeps the kustomize bases in step with the code: the
// settings ConfigMap with policies.Defaults, the webhook paths with the
// server's. webhook/manifests.yaml is generated from webhook/configuration;
// hack/gen-webhooks's test keeps it current, these check what it holds.
package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/webhook"
)

// TestSettingsAreTheDefaults checks both ways: the file parses to the
// defaults, and it spells out every key the defaults have (ParseSettings
// fills in missing keys, so parsing alone would accept an empty file).
func TestSettingsAreTheDefaults(t *testing.T) {
	data, err := os.ReadFile("manager/settings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := policies.ParseSettings(data)
	if err != nil {
		t.Fatalf("manager/settings.yaml: %v", err)
	}
	if want := policies.Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("manager/settings.yaml differs from policies.Defaults():\n got %+v\nwant %+v", got, want)
	}

	var file, defaults any
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	defaultsJSON, err := json.Marshal(policies.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(defaultsJSON, &defaults); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, defaults) {
		fileJSON, _ := json.Marshal(file)
		t.Errorf("manager/settings.yaml does not spell out exactly the defaults:\nfile     %s\ndefaults %s", fileJSON, defaultsJSON)
	}
}

// TestWebhookConfigurations checks the shipped configurations: the paths
// the server serves, the failure policies, the choices every webhook
// shares, and no matchConditions (scaleguard serve writes those from its
// settings; static ones would be put back by every apply).
func TestWebhookConfigurations(t *testing.T) {
	data, err := os.ReadFile("webhook/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 2 {
		t.Fatalf("want a mutating and a validating configuration, got %d documents", len(docs))
	}
	var mutating admissionregistrationv1.MutatingWebhookConfiguration
	var validating admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(docs[0], &mutating); err != nil {
		t.Fatalf("mutating: %v", err)
	}
	if err := yaml.UnmarshalStrict(docs[1], &validating); err != nil {
		t.Fatalf("validating: %v", err)
	}

	type hook struct {
		path          string
		failurePolicy admissionregistrationv1.FailurePolicyType
		common        common
	}
	got := map[string]hook{}
	for _, w := range mutating.Webhooks {
		got[w.Name] = hook{*w.ClientConfig.Service.Path, *w.FailurePolicy, common{w.ClientConfig, w.Rules, w.MatchPolicy, w.SideEffects, w.AdmissionReviewVersions, w.MatchConditions}}
		if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("%s: reinvocationPolicy %v, want IfNeeded", w.Name, w.ReinvocationPolicy)
		}
	}
	for _, w := range validating.Webhooks {
		got[w.Name] = hook{*w.ClientConfig.Service.Path, *w.FailurePolicy, common{w.ClientConfig, w.Rules, w.MatchPolicy, w.SideEffects, w.AdmissionReviewVersions, w.MatchConditions}}
	}
	want := map[string]struct {
		path          string
		failurePolicy admissionregistrationv1.FailurePolicyType
	}{
		"hpa.mutate.scaleguard.io":               {webhook.PathMutateHPA, admissionregistrationv1.Ignore},
		"hpa.validate.scaleguard.io":             {webhook.PathValidateHPA, admissionregistrationv1.Fail},
		"workload.mutate.scaleguard.io":          {webhook.PathMutateWorkload, admissionregistrationv1.Ignore},
		"workload.validate.scaleguard.io":        {webhook.PathValidateWorkload, admissionregistrationv1.Fail},
		"vpa.validate.scaleguard.io":             {webhook.PathValidateVPA, admissionregistrationv1.Fail},
		"so.validate.scaleguard.io":              {webhook.PathValidateScaledObject, admissionregistrationv1.Fail},
		"scalingstandard.validate.scaleguard.io": {webhook.PathValidateScalingStandard, admissionregistrationv1.Fail},
	}
	if len(got) != len(want) {
		t.Errorf("webhooks %v, want %v", keys(got), keys(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if g.path != w.path || g.failurePolicy != w.failurePolicy {
			t.Errorf("%s: path %s, failurePolicy %s; want %s, %s", name, g.path, g.failurePolicy, w.path, w.failurePolicy)
		}
		g.common.check(t, name)
	}
}

// common are the choices every scaleguard webhook shares.
type common struct {
	client      admissionregistrationv1.WebhookClientConfig
	rules       []admissionregistrationv1.RuleWithOperations
	matchPolicy *admissionregistrationv1.MatchPolicyType
	sideEffects *admissionregistrationv1.SideEffectClass
	versions    []string
	conditions  []admissionregistrationv1.MatchCondition
}

func (c common) check(t *testing.T, name string) {
	t.Helper()
	if s := c.client.Service; s.Name != "scaleguard-webhook-service" || s.Namespace != "scaleguard-system" || s.Port == nil || *s.Port != 443 {
		t.Errorf("%s: service %+v", name, s)
	}
	if c.matchPolicy == nil || *c.matchPolicy != admissionregistrationv1.Equivalent {
		t.Errorf("%s: matchPolicy must be Equivalent, or requests in other versions bypass the webhook", name)
	}
	if c.sideEffects == nil || *c.sideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("%s: sideEffects must be None for dry-run requests to reach it", name)
	}
	if !reflect.DeepEqual(c.versions, []string{"v1"}) {
		t.Errorf("%s: admissionReviewVersions %v", name, c.versions)
	}
	if len(c.conditions) > 0 {
		t.Errorf("%s: %d matchConditions; scaleguard serve writes them from its settings, the shipped file must have none", name, len(c.conditions))
	}
	for _, r := range c.rules {
		for _, res := range r.Resources {
			if bytes.ContainsAny([]byte(res), "/*") {
				t.Errorf("%s: resource %q: subresources must never reach scaleguard", name, res)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestManifestsDecodeStrictly catches misspelt fields in the Kubernetes
// objects of the bases (cert-manager's are not in k8s.io/api).
func TestManifestsDecodeStrictly(t *testing.T) {
	files := []string{
		"manager/namespace.yaml", "manager/manager.yaml", "manager/pdb.yaml",
		"rbac/service_account.yaml", "rbac/role.yaml", "rbac/role_binding.yaml",
		"rbac/leader_election_role.yaml", "rbac/leader_election_role_binding.yaml",
		"webhook/service.yaml",
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var obj any
		switch tm.Kind {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Service":
			obj = &corev1.Service{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		case "Role":
			obj = &rbacv1.Role{}
		case "RoleBinding":
			obj = &rbacv1.RoleBinding{}
		default:
			t.Fatalf("%s: no type for kind %q", f, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
