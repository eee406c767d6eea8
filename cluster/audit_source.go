package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/scaleguard/scaleguard/audit"
	"github.com/scaleguard/scaleguard/policies"
)

// AuditSource is what the audit reads of the view: the objects of the
// view's own informers, as the rules read them, so that a scan keeps no
// second copy of the cluster. Workloads read on demand
// (Options.WorkloadsOnDemand) are listed from the API server, namespace by
// namespace, at each scan. Until an informer has synced, reading its
// resource answers policies.ErrUnknown rather than wait; the audit starts
// no scan before Synced anyway.
func (v *View) AuditSource() audit.Source { return auditSource{v} }

type auditSource struct{ v *View }

var _ audit.Source = auditSource{}

// Synced implements audit.Source.
func (s auditSource) Synced() bool { return s.v.Synced() }

// Cluster implements audit.Source: the view itself.
func (s auditSource) Cluster() policies.Cluster { return s.v }

// synced returns nil once the named informer has synced. Unlike View.ready
// it does not ask whether the watch is current: a scan under way finishes
// on what the informer holds, and the next one waits for Synced.
func (s auditSource) synced(name string) error {
	if s.v.informers[name].HasSynced() {
		return nil
	}
	return fmt.Errorf("%s not synced yet: %w", name, policies.ErrUnknown)
}

// Namespaces implements audit.Source, sorted by name.
func (s auditSource) Namespaces(context.Context) ([]corev1.Namespace, error) {
	if err := s.synced(namespaces); err != nil {
		return nil, fmt.Errorf("listing Namespaces: %w", err)
	}
	var out []corev1.Namespace
	for _, o := range s.v.informers[namespaces].GetStore().List() {
		ns, ok := o.(*corev1.Namespace)
		if !ok {
			return nil, fmt.Errorf("listing Namespaces: cached as %T", o)
		}
		out = append(out, *ns.DeepCopy())
	}
	slices.SortFunc(out, func(a, b corev1.Namespace) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Workloads implements audit.Source: the Deployments, StatefulSets and
// objects of kinds in namespace, each sorted by name.
func (s auditSource) Workloads(ctx context.Context, namespace string, kinds []policies.WorkloadKind) ([]audit.Workload, error) {
	var out []audit.Workload
	for _, w := range []struct{ informer, kind string }{{deployments, policies.KindDeployment}, {statefulSets, policies.KindStatefulSet}} {
		entries, err := s.workloadEntries(ctx, w.informer, namespace)
		if err != nil {
			return nil, fmt.Errorf("listing %ss in %s: %w", w.kind, namespace, err)
		}
		for _, e := range entries {
			t, err := e.template()
			if err != nil {
				return nil, err
			}
			out = append(out, audit.Workload{APIVersion: "apps/v1", Workload: *e.workload(w.kind, t), Namespace: e.namespace, Name: e.name})
		}
	}
	for _, k := range kinds {
		ws, err := s.customWorkloads(k, namespace)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// workloadEntries are the entries of informer (deployments or
// statefulsets) in namespace, sorted by name: from the informer, or read
// on demand, listed from the API server with the scan's context. Not
// through directWorkloads.list: a scan lists every namespace once, and a
// namespace of thousands may take longer than a review's liveTimeout.
func (s auditSource) workloadEntries(ctx context.Context, informer, namespace string) ([]*entry, error) {
	var entries []*entry
	if s.v.onDemand(informer) {
		var err error
		if entries, err = listEntries(ctx, s.v.direct.client, informer, namespace); err != nil {
			return nil, err
		}
	} else {
		if err := s.synced(informer); err != nil {
			return nil, err
		}
		objs, err := s.v.informers[informer].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			e, ok := o.(*entry)
			if !ok {
				return nil, fmt.Errorf("cached as %T", o)
			}
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b *entry) int { return cmp.Compare(a.name, b.name) })
	return entries, nil
}

// customWorkloads are the objects of custom workload kind k in namespace,
// sorted by name. A kind the API server does not serve has none; one the
// view does not watch yet (the settings listed it a moment ago), or whose
// informer has not synced, answers policies.ErrUnknown. An object kept
// whole because it could not be read (transformCustomWorkload) is handed
// over with the reading error, for the audit to report.
func (s auditSource) customWorkloads(k policies.WorkloadKind, namespace string) ([]audit.Workload, error) {
	ci, listed := s.v.custom.state(k.Kind)
	switch {
	case !listed || ci.kind != k:
		return nil, fmt.Errorf("%s %s not watched yet: %w", k.APIVersion(), k.Resource, policies.ErrUnknown)
	case ci.informer == nil:
		return nil, nil
	}
	if err := informerReady(k.Resource, ci.informer, ci.health); err != nil {
		return nil, err
	}
	objs, err := ci.informer.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", k.Resource, namespace, err)
	}
	out := make([]audit.Workload, 0, len(objs))
	for _, o := range objs {
		w := audit.Workload{APIVersion: k.APIVersion()}
		switch o := o.(type) {
		case *entry:
			t, err := o.template()
			if err != nil {
				return nil, err
			}
			w.Workload, w.Namespace, w.Name = *o.workload(k.Kind, t), o.namespace, o.name
		case *unstructured.Unstructured:
			w.Workload, w.Err = policies.WorkloadFromUnstructured(k, o.Object)
			w.Workload.Kind, w.Namespace, w.Name = k.Kind, o.GetNamespace(), o.GetName()
		default:
			return nil, fmt.Errorf("listing %s in %s: cached as %T", k.Resource, namespace, o)
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b audit.Workload) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// HPAs implements audit.Source, sorted by name.
func (s auditSource) HPAs(_ context.Context, namespace string) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	if err := s.synced(hpas); err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers in %s: %w", namespace, err)
	}
	objs, err := s.v.informers[hpas].GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers in %s: %w", namespace, err)
	}
	out := make([]autoscalingv2.HorizontalPodAutoscaler, 0, len(objs))
	for _, o := range objs {
		e, ok := o.(*entry)
		if !ok {
			return nil, fmt.Errorf("listing HorizontalPodAutoscalers in %s: cached as %T", namespace, o)
		}
		h, err := e.horizontalPodAutoscaler()
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b autoscalingv2.HorizontalPodAutoscaler) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// ScaledObjects implements audit.Source.
func (s auditSource) ScaledObjects(_ context.Context, namespace string) ([]*policies.ScaledObject, error) {
	return s.v.ScaledObjects(namespace)
}

// LimitRanges implements audit.Source. The audit does not ask: the view
// answers the rules' lookups itself.
func (s auditSource) LimitRanges(_ context.Context, namespace string) ([]corev1.LimitRange, error) {
	return s.v.LimitRanges(namespace)
}
