package audit

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
)

// ReaderSource is the Source of whole objects read through r: a client of
// the API server, such as a manager's API reader. r must not be a cache
// whose transforms drop fields (hpa-api-version reads managedFields). It
// has no view of the cluster: each namespace is judged against a Snapshot
// of its own objects, and KEDA's ScaledObjects are not read.
func ReaderSource(r client.Reader) Source { return readerSource{r} }

type readerSource struct{ r client.Reader }

// Synced implements Source: every read goes to r.
func (readerSource) Synced() bool { return true }

// Cluster implements Source: none, see ReaderSource.
func (readerSource) Cluster() policies.Cluster { return nil }

// ScaledObjects implements Source: none, see ReaderSource.
func (readerSource) ScaledObjects(context.Context, string) ([]*policies.ScaledObject, error) {
	return nil, nil
}

// Namespaces implements Source.
func (s readerSource) Namespaces(ctx context.Context) ([]corev1.Namespace, error) {
	var l corev1.NamespaceList
	if err := s.r.List(ctx, &l); err != nil {
		return nil, fmt.Errorf("listing Namespaces: %w", err)
	}
	return l.Items, nil
}

// Workloads implements Source.
func (s readerSource) Workloads(ctx context.Context, namespace string, kinds []policies.WorkloadKind) ([]Workload, error) {
	var (
		deps appsv1.DeploymentList
		sts  appsv1.StatefulSetList
		errs []error
	)
	if err := s.r.List(ctx, &deps, client.InNamespace(namespace)); err != nil {
		errs = append(errs, fmt.Errorf("listing Deployments in %s: %w", namespace, err))
	}
	if err := s.r.List(ctx, &sts, client.InNamespace(namespace)); err != nil {
		errs = append(errs, fmt.Errorf("listing StatefulSets in %s: %w", namespace, err))
	}
	out := make([]Workload, 0, len(deps.Items)+len(sts.Items))
	for i := range deps.Items {
		w, _ := WorkloadOf(&deps.Items[i])
		out = append(out, w)
	}
	for i := range sts.Items {
		w, _ := WorkloadOf(&sts.Items[i])
		out = append(out, w)
	}
	for _, k := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GroupVersionKind().GroupVersion().WithKind(k.Kind + "List"))
		err := s.r.List(ctx, list, client.InNamespace(namespace))
		switch {
		case meta.IsNoMatchError(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("listing %s %s in %s: %w", k.APIVersion(), k.Resource, namespace, err))
			continue
		}
		for i := range list.Items {
			u := &list.Items[i]
			w, err := policies.WorkloadFromUnstructured(k, u.Object)
			w.Kind = k.Kind
			out = append(out, Workload{APIVersion: k.APIVersion(), Workload: w, Err: err, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
	return out, errors.Join(errs...)
}

// HPAs implements Source.
func (s readerSource) HPAs(ctx context.Context, namespace string) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	var l autoscalingv2.HorizontalPodAutoscalerList
	if err := s.r.List(ctx, &l, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers in %s: %w", namespace, err)
	}
	return l.Items, nil
}

// LimitRanges implements Source.
func (s readerSource) LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error) {
	var l corev1.LimitRangeList
	if err := s.r.List(ctx, &l, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing LimitRanges in %s: %w", namespace, err)
	}
	return l.Items, nil
}
