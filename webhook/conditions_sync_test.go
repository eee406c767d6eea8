package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// installed is what the chart installs: the configurations without
// conditions, a CA bundle cainjector filled in, and a webhook of someone
// else's in the same configuration.
func installed() (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	m, v := configuration.Configurations(configuration.ConfigurationOptions{Name: "sg", CABundle: []byte("injected")})
	foreign := v.Webhooks[0].DeepCopy()
	foreign.Name = "other.example.com"
	foreign.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "theirs", Expression: "true"}}
	v.Webhooks = append(v.Webhooks, *foreign)
	return m, v
}

type countingWriter struct {
	client.Client
	updates int
}

func (w *countingWriter) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	w.updates++
	return w.Client.Update(ctx, obj, opts...)
}

func TestConditionsSync(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	m, v := installed()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(m, v).Build()
	w := &countingWriter{Client: c}
	defaults := policies.Defaults()
	s := NewConditionsSync(c, w, "sg", StaticSettings{S: &defaults}, NewMetrics(), logr.Discard())

	read := func() (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
		t.Helper()
		gm, gv := &admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: "sg"}, gm); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(ctx, client.ObjectKey{Name: "sg"}, gv); err != nil {
			t.Fatal(err)
		}
		return gm, gv
	}
	if err := s.Sync(ctx, &defaults); err != nil {
		t.Fatal(err)
	}
	gm, gv := read()
	for _, wh := range gm.Webhooks {
		want := celpolicy.MatchConditions(celpolicy.Webhook(wh.Name), &defaults)
		if len(wh.MatchConditions) != len(want) || wh.MatchConditions[len(want)-1].Expression != want[len(want)-1].Expression {
			t.Errorf("%s: conditions not written: %v", wh.Name, wh.MatchConditions)
		}
		if string(wh.ClientConfig.CABundle) != "injected" {
			t.Errorf("%s: the injected CA bundle was lost", wh.Name)
		}
	}
	for _, wh := range gv.Webhooks {
		if wh.Name == "other.example.com" {
			if len(wh.MatchConditions) != 1 || wh.MatchConditions[0].Name != "theirs" {
				t.Errorf("another webhook's conditions were changed: %v", wh.MatchConditions)
			}
			continue
		}
		if len(wh.MatchConditions) == 0 && wh.Name != string(configuration.ScalingStandardValidate) {
			t.Errorf("%s: no conditions written", wh.Name)
		}
	}
	if w.updates != 2 {
		t.Errorf("%d updates for two configurations", w.updates)
	}

	// In step already: nothing is written.
	if err := s.Sync(ctx, &defaults); err != nil {
		t.Fatal(err)
	}
	if w.updates != 2 {
		t.Errorf("a sync with nothing to change wrote %d times", w.updates-2)
	}

	// New settings: only the validating configuration's workload condition
	// changes (the mutating ones do not read the required resources).
	eph := policies.Defaults()
	eph.Rules.RequestsRequired.Resources = append(eph.Rules.RequestsRequired.Resources, corev1.ResourceEphemeralStorage)
	if err := s.Sync(ctx, &eph); err != nil {
		t.Fatal(err)
	}
	if w.updates != 3 {
		t.Errorf("%d writes after adding a required resource, want 1", w.updates-2)
	}
	_, gv = read()
	for _, wh := range gv.Webhooks {
		if wh.Name == string(celpolicy.WorkloadValidate) && !strings.Contains(wh.MatchConditions[len(wh.MatchConditions)-1].Expression, "ephemeral-storage") {
			t.Error("the workload condition does not require ephemeral-storage")
		}
	}

	// New exemptions: every one of scaleguard's webhooks gets the selector
	// of the settings (names and opt-out label), another webhook keeps its.
	exempt := policies.Defaults()
	exempt.ExemptNamespaces = append(exempt.ExemptNamespaces, "legacy")
	exempt.OptOutLabel = "example.com/no-scaleguard"
	foreignSelector := func(gv *admissionregistrationv1.ValidatingWebhookConfiguration) *metav1.LabelSelector {
		for _, wh := range gv.Webhooks {
			if wh.Name == "other.example.com" {
				return wh.NamespaceSelector
			}
		}
		t.Fatal("the other webhook is gone")
		return nil
	}
	_, gv = read()
	theirs := foreignSelector(gv)
	if err := s.Sync(ctx, &exempt); err != nil {
		t.Fatal(err)
	}
	gm, gv = read()
	want := celpolicy.NamespaceSelector(&exempt)
	for _, wh := range gm.Webhooks {
		if !apiequality.Semantic.DeepEqual(wh.NamespaceSelector, want) {
			t.Errorf("%s: namespaceSelector %v, want %v", wh.Name, wh.NamespaceSelector, want)
		}
	}
	for _, wh := range gv.Webhooks {
		if wh.Name != "other.example.com" && !apiequality.Semantic.DeepEqual(wh.NamespaceSelector, want) {
			t.Errorf("%s: namespaceSelector %v, want %v", wh.Name, wh.NamespaceSelector, want)
		}
	}
	if got := foreignSelector(gv); !apiequality.Semantic.DeepEqual(got, theirs) {
		t.Errorf("another webhook's namespaceSelector was changed: %v", got)
	}

	// Configurations not installed: an error that says so, never a create.
	missing := NewConditionsSync(c, w, "absent", StaticSettings{S: &defaults}, nil, logr.Discard())
	if err := missing.Sync(ctx, &defaults); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("sync of absent configurations: %v", err)
	}
}

func TestConditionsUpdatesSeriesExistFromTheStart(t *testing.T) {
	defaults := policies.Defaults()
	s := NewConditionsSync(nil, nil, "sg", StaticSettings{S: &defaults}, nil, logr.Discard())
	if got := testutil.CollectAndCount(s.updates); got != 2 {
		t.Errorf("%d series of scaleguard_webhook_conditions_updates_total before any write, want 2 (success, error at 0)", got)
	}
}
