package harness

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// WebhookConfigs are scaleguard's webhook configurations, from the one
// generator the chart, config/ and `scaleguard export` use
// (configuration.Configurations).
type WebhookConfigs struct {
	Mutating   *admissionregistrationv1.MutatingWebhookConfiguration
	Validating *admissionregistrationv1.ValidatingWebhookConfiguration
}

// NewWebhookConfigs returns the configurations as installed, with the
// namespaceSelector and matchConditions of settings s — what `scaleguard
// serve` keeps in them — or, with s nil, the default settings' selector and
// no conditions: every write of the matched kinds is then sent.
func NewWebhookConfigs(s *policies.Settings) WebhookConfigs {
	m, v := configuration.Configurations(configuration.ConfigurationOptions{Settings: s, MatchConditions: s != nil})
	return WebhookConfigs{Mutating: m, Validating: v}
}

// PointAt replaces each webhook's in-cluster Service with a URL on the
// local process, keeping its path, and sets the CA bundle. Everything else
// (rules, match policy, selectors, failure policies) stays as shipped.
// Called again, it points the same paths at another process.
func (w WebhookConfigs) PointAt(baseURL string, caBundle []byte) error {
	point := func(name string, cc *admissionregistrationv1.WebhookClientConfig) error {
		var path string
		switch {
		case cc.Service != nil && cc.Service.Path != nil:
			path = *cc.Service.Path
		case cc.URL != nil:
			u, err := url.Parse(*cc.URL)
			if err != nil {
				return fmt.Errorf("webhook %s: %w", name, err)
			}
			path = u.Path
		default:
			return fmt.Errorf("webhook %s has no service path", name)
		}
		cc.URL = ptr.To(baseURL + path)
		cc.Service = nil
		cc.CABundle = caBundle
		return nil
	}
	for i := range w.Mutating.Webhooks {
		if err := point(w.Mutating.Webhooks[i].Name, &w.Mutating.Webhooks[i].ClientConfig); err != nil {
			return err
		}
	}
	for i := range w.Validating.Webhooks {
		if err := point(w.Validating.Webhooks[i].Name, &w.Validating.Webhooks[i].ClientConfig); err != nil {
			return err
		}
	}
	return nil
}

// SetValidatingFailurePolicy sets the failure policy of every validating
// webhook.
func (w WebhookConfigs) SetValidatingFailurePolicy(p admissionregistrationv1.FailurePolicyType) {
	for i := range w.Validating.Webhooks {
		w.Validating.Webhooks[i].FailurePolicy = ptr.To(p)
	}
}

// Apply creates the configurations, or replaces them if they exist.
func (w WebhookConfigs) Apply(ctx context.Context, c client.Client) error {
	for _, obj := range []client.Object{w.Mutating.DeepCopy(), w.Validating.DeepCopy()} {
		existing := obj.DeepCopyObject().(client.Object)
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing)
		switch {
		case apierrors.IsNotFound(err):
			err = c.Create(ctx, obj)
		case err == nil:
			obj.SetResourceVersion(existing.GetResourceVersion())
			err = c.Update(ctx, obj)
		}
		if err != nil {
			return fmt.Errorf("applying %s: %w", obj.GetName(), err)
		}
	}
	return nil
}

// Delete removes the configurations.
func (w WebhookConfigs) Delete(ctx context.Context, c client.Client) error {
	for _, obj := range []client.Object{w.Mutating.DeepCopy(), w.Validating.DeepCopy()} {
		if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// WaitForWebhook returns once a dry-run create of a Deployment without
// requests in namespace is refused by scaleguard: the API server's webhook
// informer takes a moment to see new configurations, and until then writes
// pass unjudged.
func WaitForWebhook(ctx context.Context, c client.Client, namespace string, timeout time.Duration) error {
	probe := Deployment(namespace, "scaleguard-probe", false)
	deadline := time.Now().Add(timeout)
	for {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "scaleguard") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call scaleguard after %s (last answer: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StartStandard starts `scaleguard serve` with o in a folder of tb's, stops
// it when tb ends, and returns it with the built-in standard's webhook
// configurations (their matchConditions included) pointed at it, not yet
// applied.
func StartStandard(tb testing.TB, binary string, o Options) (*Scaleguard, WebhookConfigs) {
	tb.Helper()
	sg, err := StartWith(context.Background(), binary, tb.TempDir(), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sg.Stop() })
	standard := policies.Defaults()
	webhooks := NewWebhookConfigs(&standard)
	if err := webhooks.PointAt(sg.URL(), sg.CABundle); err != nil {
		tb.Fatal(err)
	}
	return sg, webhooks
}
