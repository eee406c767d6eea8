package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// ConditionsSync keeps the matchConditions, namespaceSelectors and rules of
// scaleguard's installed webhook configurations in step with the settings in
// force, the way Kyverno keeps its webhook configurations in step with its
// policies: the chart and config/ install the configurations without
// conditions, and scaleguard writes them from the same settings its rules
// read, at start and within a second of every settings reload — so a
// namespace added to exemptNamespaces, or a new optOutLabel, is left out by
// the API server as by the rules (policies.NamespaceExempt), and a kind
// added to workloadKinds is sent to the workload webhooks. It touches
// nothing but the matchConditions, namespaceSelector and rules of its own
// webhooks, so a CA bundle injected by cert-manager, a failure policy set
// by Helm or a webhook a user added are left as they are; and it re-writes
// them if anything else changes them (a `helm upgrade`, a `kubectl apply`
// of config/).
type ConditionsSync struct {
	// reader reads the configurations straight from the API server, and
	// writer updates them.
	reader   client.Reader
	writer   client.Writer
	name     string // of both configurations
	settings SettingsSource
	log      logr.Logger

	inSync  prometheus.Gauge
	updates *prometheus.CounterVec
}

// conditionsResync is how often the configurations are read even when the
// settings did not change, to put back conditions something else replaced.
const conditionsResync = 30 * time.Second

// NewConditionsSync returns a sync of the two configurations called name;
// its metrics are registered with m's registry when m is not nil.
func NewConditionsSync(reader client.Reader, writer client.Writer, name string, s SettingsSource, m *Metrics, log logr.Logger) *ConditionsSync {
	c := &ConditionsSync{reader: reader, writer: writer, name: name, settings: s, log: log,
		inSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaleguard_webhook_conditions_in_sync",
			Help: "1 when the matchConditions of scaleguard's webhook configurations are those of the settings in force, else 0 (the API server may then skip a write a rule should judge, or send ones it need not).",
		}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaleguard_webhook_conditions_updates_total",
			Help: "Writes of the webhook configurations' matchConditions, by result (success, error).",
		}, []string{"result"}),
	}
	// Both series exist from the start, so that an increase of errors has
	// a zero to start from and a dashboard finds the metric before any write.
	for _, result := range []string{"success", "error"} {
		c.updates.WithLabelValues(result)
	}
	if m != nil {
		m.Registry.MustRegister(c.inSync, c.updates)
	}
	return c
}

// NeedLeaderElection makes one replica write the conditions: with several
// reloading the settings a moment apart, they would otherwise take turns.
func (c *ConditionsSync) NeedLeaderElection() bool { return true }

// Start syncs until ctx ends. A failed sync is logged, shown by the
// scaleguard_webhook_conditions_in_sync gauge and retried every second.
func (c *ConditionsSync) Start(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var synced *policies.Settings
	var last time.Time
	var lastErr string
	for {
		// A new pointer is new settings: a reload, or any change of the
		// standards (standards.Store rebuilds the cluster-wide settings).
		if s := c.settings.Current(); s != synced || time.Since(last) >= conditionsResync {
			err := c.Sync(ctx, s)
			switch {
			case err == nil:
				synced, last, lastErr = s, time.Now(), ""
			case err.Error() != lastErr:
				// Logged once per distinct error, not every second.
				lastErr = err.Error()
				c.log.Error(err, "cannot keep the webhook configurations' matchConditions and namespaceSelectors in step with the settings; retrying every second")
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Sync writes the conditions and namespace selector of settings s into both
// configurations where they differ.
func (c *ConditionsSync) Sync(ctx context.Context, s *policies.Settings) error {
	err := errors.Join(c.syncMutating(ctx, s), c.syncValidating(ctx, s))
	if err == nil {
		c.inSync.Set(1)
	} else {
		c.inSync.Set(0)
	}
	return err
}

func (c *ConditionsSync) syncMutating(ctx context.Context, s *policies.Settings) error {
	obj := &admissionregistrationv1.MutatingWebhookConfiguration{}
	all := c.every(s)
	return c.syncOne(ctx, obj, func() (changed bool) {
		for i := range obj.Webhooks {
			changed = setConditions(&obj.Webhooks[i].MatchConditions, obj.Webhooks[i].Name, all) || changed
			changed = setSelector(&obj.Webhooks[i].NamespaceSelector, obj.Webhooks[i].Name, s) || changed
			changed = setRules(&obj.Webhooks[i].Rules, obj.Webhooks[i].Name, s) || changed
		}
		return changed
	})
}

func (c *ConditionsSync) syncValidating(ctx context.Context, s *policies.Settings) error {
	obj := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	all := c.every(s)
	return c.syncOne(ctx, obj, func() (changed bool) {
		for i := range obj.Webhooks {
			changed = setConditions(&obj.Webhooks[i].MatchConditions, obj.Webhooks[i].Name, all) || changed
			changed = setSelector(&obj.Webhooks[i].NamespaceSelector, obj.Webhooks[i].Name, s) || changed
			changed = setRules(&obj.Webhooks[i].Rules, obj.Webhooks[i].Name, s) || changed
		}
		return changed
	})
}

// every lists each settings some namespace may be judged with: the
// standards' All, or just s. The conditions are a superset of each.
func (c *ConditionsSync) every(s *policies.Settings) []*policies.Settings {
	if a, ok := c.settings.(interface{ All() []*policies.Settings }); ok && c.settings.Current() == s {
		return a.All()
	}
	return []*policies.Settings{s}
}

// syncOne reads obj, lets set write the conditions into it, and updates it
// when set reports a change.
func (c *ConditionsSync) syncOne(ctx context.Context, obj client.Object, set func() bool) error {
	if err := c.get(ctx, obj); err != nil {
		return err
	}
	return c.update(ctx, obj, set())
}

func (c *ConditionsSync) get(ctx context.Context, obj client.Object) error {
	err := c.reader.Get(ctx, client.ObjectKey{Name: c.name}, obj)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%T %q does not exist (yet): install it from the chart or config/webhook", obj, c.name)
	}
	return err
}

// update writes obj back when it changed. The update carries the
// resourceVersion read, so a concurrent change (cainjector, Helm) makes it
// fail and the next sync starts from the new object.
func (c *ConditionsSync) update(ctx context.Context, obj client.Object, changed bool) error {
	if !changed {
		return nil
	}
	if err := c.writer.Update(ctx, obj, client.FieldOwner("scaleguard")); err != nil {
		c.count("error")
		return fmt.Errorf("updating the matchConditions and namespaceSelectors of %T %q: %w", obj, c.name, err)
	}
	c.count("success")
	c.log.Info("matchConditions and namespaceSelectors updated from the settings", "configuration", c.name, "kind", fmt.Sprintf("%T", obj))
	return nil
}

func (c *ConditionsSync) count(result string) {
	c.updates.WithLabelValues(result).Inc()
}

// setConditions sets the conditions of one of scaleguard's webhooks and
// says whether they changed; a webhook of another name is left alone.
func setConditions(into *[]admissionregistrationv1.MatchCondition, name string, all []*policies.Settings) bool {
	for _, w := range celpolicy.Webhooks {
		if string(w) != name {
			continue
		}
		want := celpolicy.MatchConditionsOfAll(w, all)
		if apiequality.Semantic.DeepEqual(*into, want) {
			return false
		}
		*into = want
		return true
	}
	return false
}

// setSelector sets the namespaceSelector of one of scaleguard's webhooks to
// the settings' exempt namespaces and opt-out label, and says whether it
// changed; a webhook of another name is left alone.
func setSelector(into **metav1.LabelSelector, name string, s *policies.Settings) bool {
	if !slices.Contains(celpolicy.Webhooks, celpolicy.Webhook(name)) && name != string(configuration.ScalingStandardValidate) {
		return false
	}
	want := celpolicy.NamespaceSelector(s)
	if apiequality.Semantic.DeepEqual(*into, want) {
		return false
	}
	*into = want
	return true
}

// setRules sets the rules of one of scaleguard's webhooks to those its
// configuration is generated with (configuration.Rules), and says whether
// they changed: a kind listed in settings.workloadKinds, or no longer
// listed, changes which resources the workload webhooks receive. A webhook
// of another name is left alone.
func setRules(into *[]admissionregistrationv1.RuleWithOperations, name string, s *policies.Settings) bool {
	want, ok := configuration.Rules(name, s)
	if !ok || apiequality.Semantic.DeepEqual(*into, want) {
		return false
	}
	*into = want
	return true
}
