package cluster

import (
	"context"
	"fmt"
	toolscache "k8s.io/client-go/tools/cache"
	"reflect"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
)

// reader is the client.Reader the audit reads the cluster through: the
// view's resources come from its informers, decoded as typed objects that
// hold only what the rules read (no labels, except a Namespace's; no
// images; no status), so that a scan keeps no second copy of the cluster;
// any other type comes from the manager's cache. Until an informer has synced,
// reading its resource answers policies.ErrUnknown rather than wait.
type reader struct {
	informers informers
	// custom serves the unstructured objects of the kinds
	// settings.workloadKinds lists (see customReader).
	custom *customWorkloads
	// direct reads the workloads the view does not watch
	// (Options.WorkloadsOnDemand), with the audit's context and no
	// liveTimeout: a scan may list thousands.
	direct appsv1client.AppsV1Interface
	other  client.Reader
}

var _ client.Reader = (*reader)(nil)

// watched names the informer holding obj's type, or "" for none.
func watched(obj runtime.Object) string {
	switch o := obj.(type) {
	case *appsv1.Deployment, *appsv1.DeploymentList:
		return deployments
	case *appsv1.StatefulSet, *appsv1.StatefulSetList:
		return statefulSets
	case *autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList:
		return hpas
	case *corev1.LimitRange, *corev1.LimitRangeList:
		return limitRanges
	case *corev1.Namespace, *corev1.NamespaceList:
		return namespaces
	case *unstructured.Unstructured, *unstructured.UnstructuredList:
		gvk := o.GetObjectKind().GroupVersionKind()
		if gvk.GroupVersion() == apiServiceGVR.GroupVersion() && strings.TrimSuffix(gvk.Kind, "List") == "APIService" {
			return apiServices
		}
	}
	return ""
}

// decode turns what the named informer stores into the object a reader
// returns, a fresh one.
func decode(name string, stored any) (client.Object, error) {
	switch o := stored.(type) {
	case *entry:
		switch name {
		case deployments:
			return o.deployment()
		case statefulSets:
			return o.statefulSet()
		}
		return o.horizontalPodAutoscaler()
	case *corev1.LimitRange:
		return o.DeepCopy(), nil
	case *corev1.Namespace:
		return o.DeepCopy(), nil
	case *unstructured.Unstructured:
		return o.DeepCopy(), nil
	}
	return nil, fmt.Errorf("%s: unexpected cached object %T", name, stored)
}

func (r *reader) ready(name string) error {
	if r.informers[name].HasSynced() {
		return nil
	}
	return fmt.Errorf("%s not synced yet: %w", name, policies.ErrUnknown)
}

// Get implements client.Reader.
func (r *reader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if u, ok := obj.(*unstructured.Unstructured); ok && r.custom.isListed(u.GroupVersionKind()) {
		return r.custom.get(key, u)
	}
	name := watched(obj)
	if name == "" {
		return r.other.Get(ctx, key, obj, opts...)
	}
	var stored any
	var exists bool
	var err error
	if r.onDemand(name) {
		var e *entry
		e, err = getEntry(ctx, r.direct, name, key.Namespace, key.Name)
		stored, exists = e, e != nil
	} else {
		if err := r.ready(name); err != nil {
			return err
		}
		k := key.Name
		if key.Namespace != "" {
			k = key.Namespace + "/" + key.Name
		}
		stored, exists, err = r.informers[name].GetIndexer().GetByKey(k)
	}
	if err != nil {
		return err
	}
	if !exists {
		gvk := obj.GetObjectKind().GroupVersionKind()
		return apierrors.NewNotFound(gvk.GroupVersion().WithResource(name).GroupResource(), key.Name)
	}
	got, err := decode(name, stored)
	if err != nil {
		return err
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(got).Elem())
	return nil
}

// List implements client.Reader: in one namespace or all, sorted by
// namespace and name. Field selectors are not supported, nor label
// selectors on what keeps no labels.
func (r *reader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if u, ok := list.(*unstructured.UnstructuredList); ok && r.custom.isListed(u.GroupVersionKind()) {
		return r.custom.list(u, opts...)
	}
	name := watched(list)
	if name == "" {
		return r.other.List(ctx, list, opts...)
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	if o.FieldSelector != nil && !o.FieldSelector.Empty() {
		return fmt.Errorf("listing %s: the cluster view does not support field selectors", name)
	}
	selector := labels.Everything()
	if o.LabelSelector != nil && !o.LabelSelector.Empty() {
		if name != namespaces {
			return fmt.Errorf("listing %s: the cluster view keeps no labels of %s", name, name)
		}
		selector = o.LabelSelector
	}
	if r.onDemand(name) {
		return r.listDirect(ctx, name, o.Namespace, list)
	}
	if err := r.ready(name); err != nil {
		return err
	}
	stored := r.informers[name].GetStore().List()
	if o.Namespace != "" {
		// One namespace's objects, through the index the namespaced
		// informers keep, rather than decoding all of them to filter.
		if in, err := r.informers[name].GetIndexer().ByIndex(toolscache.NamespaceIndex, o.Namespace); err == nil {
			stored = in
		}
	}
	var objs []runtime.Object
	for _, stored := range stored {
		obj, err := decode(name, stored)
		if err != nil {
			return err
		}
		if (o.Namespace == "" || obj.GetNamespace() == o.Namespace) && selector.Matches(labels.Set(obj.GetLabels())) {
			objs = append(objs, obj)
		}
	}
	return setSorted(list, objs)
}

// onDemand reports whether the view does not watch name (a workload
// resource, Options.WorkloadsOnDemand).
func (r *reader) onDemand(name string) bool {
	_, watched := r.informers[name]
	return !watched && r.direct != nil && (name == deployments || name == statefulSets)
}

// listDirect lists name in namespace ("" for all) from the API server into
// list, sorted as List sorts.
func (r *reader) listDirect(ctx context.Context, name, namespace string, list client.ObjectList) error {
	entries, err := listEntries(ctx, r.direct, name, namespace)
	if err != nil {
		return fmt.Errorf("listing %s in %q: %w", name, namespace, err)
	}
	objs := make([]runtime.Object, 0, len(entries))
	for _, e := range entries {
		obj, err := decode(name, e)
		if err != nil {
			return err
		}
		objs = append(objs, obj)
	}
	return setSorted(list, objs)
}

// setSorted sets objs as list's items, sorted by namespace and name.
func setSorted(list client.ObjectList, objs []runtime.Object) error {
	slices.SortFunc(objs, func(a, b runtime.Object) int {
		ma, mb := a.(client.Object), b.(client.Object)
		return strings.Compare(ma.GetNamespace()+"/"+ma.GetName(), mb.GetNamespace()+"/"+mb.GetName())
	})
	return meta.SetList(list, objs)
}
