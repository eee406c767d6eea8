// Package configuration builds scaleguard's MutatingWebhookConfiguration
// and ValidatingWebhookConfiguration: the one generator config/, the chart,
// `scaleguard export`, the demo, the tests and the benchmarks take them
// from.
package configuration

import (
	"bytes"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
)

// ConfigurationOptions say how the API server reaches scaleguard and how
// it fails. Everything else in the webhook configurations — which
// resources and operations each webhook receives, at which path, how a
// v1 request is matched — is scaleguard's own and fixed here.
type ConfigurationOptions struct {
	// Name of both configurations; "scaleguard" when empty.
	Name string
	// Labels and Annotations of both configurations.
	Labels, Annotations map[string]string
	// Service is where the API server calls scaleguard in the cluster; the
	// path is set per webhook. Ignored when URL is set.
	Service *admissionregistrationv1.ServiceReference
	// URL is a base URL (scheme, host, port) to call instead of a Service.
	URL string
	// CABundle verifies scaleguard's serving certificate; empty when
	// cert-manager's cainjector fills it in.
	CABundle []byte
	// TimeoutSeconds of every call; 5 when zero.
	TimeoutSeconds int32
	// MutatingFailurePolicy and ValidatingFailurePolicy; Ignore and Fail
	// when empty.
	MutatingFailurePolicy, ValidatingFailurePolicy admissionregistrationv1.FailurePolicyType
	// Settings say which namespaces are exempt: every webhook's
	// namespaceSelector leaves them out (celpolicy.NamespaceSelector, the
	// same definition as policies.NamespaceExempt). policies.Defaults()
	// when nil.
	Settings *policies.Settings
	// MatchConditions gives every webhook the matchConditions of Settings
	// that keep writes the rules have nothing to say about inside the API
	// server (celpolicy.MatchConditions). Without them, every write of the
	// matched kinds is sent.
	MatchConditions bool
}

// DefaultService is the Service config/ and the chart's default install
// name.
func DefaultService() *admissionregistrationv1.ServiceReference {
	return &admissionregistrationv1.ServiceReference{Namespace: "scaleguard-system", Name: "scaleguard-webhook-service", Port: ptr.To[int32](443)}
}

// Paths the API server calls, one per webhook.
const (
	PathMutateHPA        = "/mutate/hpa"
	PathValidateHPA      = "/validate/hpa"
	PathMutateWorkload   = "/mutate/workload"
	PathValidateWorkload = "/validate/workload"
	PathValidateVPA      = "/validate/vpa"
	// PathValidateScaledObject judges KEDA ScaledObjects.
	PathValidateScaledObject = "/validate/scaledobject"
	// PathValidateScalingStandard judges a namespace's ScalingStandard
	// against its cluster standard's bounds.
	PathValidateScalingStandard = "/validate/scalingstandard"
)

// ScalingStandardValidate is the webhook that refuses a ScalingStandard
// outside its bounds. It is not one of celpolicy.Webhooks: it judges
// scaleguard's own objects, not workloads, and has no matchConditions
// (every write of a ScalingStandard is sent; there are few).
// webhook.ConditionsSync keeps its namespaceSelector with the others'.
const ScalingStandardValidate celpolicy.Webhook = "scalingstandard.validate.scaleguard.io"

// webhookSpec is what differs between the webhooks.
type webhookSpec struct {
	name       celpolicy.Webhook
	path       string
	group      string
	version    string
	resources  []string
	operations []admissionregistrationv1.OperationType
}

var (
	createUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	hpaResources = []string{"horizontalpodautoscalers"}
	// Only the main resources: never horizontalpodautoscalers/status or
	// deployments/scale, which the HPA controller writes and must never
	// wait on.
	workloadResources = []string{"deployments", "statefulsets"}
	// The VerticalPodAutoscaler is a CRD: a rule for a resource the
	// cluster does not serve matches nothing, and starts matching when the
	// CRD is installed.
	vpaResources = []string{"verticalpodautoscalers"}
	// KEDA's ScaledObject is a CRD too, served as keda.sh/v1alpha1 only.
	scaledObjectResources = []string{"scaledobjects"}
)

var (
	mutatingWebhooks = []webhookSpec{
		{celpolicy.HPAMutate, PathMutateHPA, "autoscaling", "v2", hpaResources, createUpdate},
		// Only an UPDATE can change a replica count an HPA already manages.
		{celpolicy.WorkloadMutate, PathMutateWorkload, "apps", "v1", workloadResources, []admissionregistrationv1.OperationType{admissionregistrationv1.Update}},
	}
	validatingWebhooks = []webhookSpec{
		{celpolicy.HPAValidate, PathValidateHPA, "autoscaling", "v2", hpaResources, createUpdate},
		{celpolicy.WorkloadValidate, PathValidateWorkload, "apps", "v1", workloadResources, createUpdate},
		{celpolicy.VPAValidate, PathValidateVPA, policies.VPAGroup, policies.VPAVersion, vpaResources, createUpdate},
		{celpolicy.ScaledObjectValidate, PathValidateScaledObject, policies.ScaledObjectGroup, policies.ScaledObjectVersion, scaledObjectResources, createUpdate},
		{ScalingStandardValidate, PathValidateScalingStandard, "scaleguard.io", "v1alpha1", []string{"scalingstandards"}, createUpdate},
	}
)

// Configurations builds both configurations. scaleguard keeps their
// matchConditions and namespaceSelectors in step with its settings from the
// same functions (webhook.ConditionsSync).
func Configurations(o ConfigurationOptions) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	if o.Name == "" {
		o.Name = "scaleguard"
	}
	if o.TimeoutSeconds == 0 {
		// The rules answer in well under a millisecond; a slow answer means
		// something is wrong, and a short timeout bounds what it costs.
		o.TimeoutSeconds = 5
	}
	if o.MutatingFailurePolicy == "" {
		// Mutation fails open: the validating webhook, which fails closed,
		// judges the final object anyway.
		o.MutatingFailurePolicy = admissionregistrationv1.Ignore
	}
	if o.ValidatingFailurePolicy == "" {
		o.ValidatingFailurePolicy = admissionregistrationv1.Fail
	}
	if o.Settings == nil {
		defaults := policies.Defaults()
		o.Settings = &defaults
	}
	selector := celpolicy.NamespaceSelector(o.Settings)
	meta := metav1.ObjectMeta{Name: o.Name, Labels: o.Labels, Annotations: o.Annotations}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: *meta.DeepCopy(),
	}
	for _, w := range mutatingWebhooks {
		mutating.Webhooks = append(mutating.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name:                    string(w.name),
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            o.clientConfig(w.path),
			Rules:                   w.rules(o.Settings),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       selector.DeepCopy(),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(o.TimeoutSeconds),
			FailurePolicy:           ptr.To(o.MutatingFailurePolicy),
			// Called again when a later mutating webhook changes the
			// object, so what scaleguard set is not lost to its patch.
			ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			MatchConditions:    o.matchConditions(w.name),
		})
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: *meta.DeepCopy(),
	}
	for _, w := range validatingWebhooks {
		validating.Webhooks = append(validating.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:                    string(w.name),
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            o.clientConfig(w.path),
			Rules:                   w.rules(o.Settings),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       selector.DeepCopy(),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(o.TimeoutSeconds),
			FailurePolicy:           ptr.To(o.ValidatingFailurePolicy),
			MatchConditions:         o.matchConditions(w.name),
		})
	}
	return mutating, validating
}

// rules match the webhook's resources in one version only, under
// matchPolicy Equivalent: a request made as autoscaling/v1 reaches the
// v2-only HPA webhooks converted (its requestKind still says v1, which is
// how hpa-api-version sees it); with Exact it would bypass them. The
// workload webhooks also match the custom kinds of s.WorkloadKinds.
func (w webhookSpec) rules(s *policies.Settings) []admissionregistrationv1.RuleWithOperations {
	out := []admissionregistrationv1.RuleWithOperations{{
		Operations: w.operations,
		Rule: admissionregistrationv1.Rule{
			APIGroups:   []string{w.group},
			APIVersions: []string{w.version},
			Resources:   w.resources,
			Scope:       ptr.To(admissionregistrationv1.NamespacedScope),
		},
	}}
	if w.name == celpolicy.WorkloadMutate || w.name == celpolicy.WorkloadValidate {
		out = append(out, customWorkloadRules(w.operations, s)...)
	}
	return out
}

// Rules are the rules of scaleguard's webhook name under settings s, the
// ones Configurations writes; ok is false for a webhook of another name.
// webhook.ConditionsSync keeps the installed configurations' rules in step
// with them, since a kind listed in settings.workloadKinds changes the
// workload webhooks' rules.
func Rules(name string, s *policies.Settings) (rules []admissionregistrationv1.RuleWithOperations, ok bool) {
	for _, specs := range [][]webhookSpec{mutatingWebhooks, validatingWebhooks} {
		for _, w := range specs {
			if string(w.name) == name {
				return w.rules(s), true
			}
		}
	}
	return nil, false
}

func (o ConfigurationOptions) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: o.CABundle}
	if o.URL != "" {
		cc.URL = ptr.To(o.URL + path)
		return cc
	}
	svc := o.Service
	if svc == nil {
		svc = DefaultService()
	}
	svc = svc.DeepCopy()
	svc.Path = ptr.To(path)
	cc.Service = svc
	return cc
}

func (o ConfigurationOptions) matchConditions(w celpolicy.Webhook) []admissionregistrationv1.MatchCondition {
	if !o.MatchConditions || !slices.Contains(celpolicy.Webhooks, w) {
		return nil
	}
	return celpolicy.MatchConditions(w, o.Settings)
}

// YAMLStream writes objects as one YAML stream, the form the generated
// files and `scaleguard export` take.
func YAMLStream(objs ...any) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}
