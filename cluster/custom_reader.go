package cluster

import (
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The reader serves the audit the objects of the listed custom workload
// kinds from their informers, as unstructured objects holding what the
// rules read (the audit decodes them with policies.WorkloadFromUnstructured,
// as `scaleguard check` decodes a file): never through the manager's cache,
// which would start a second informer holding the full objects.

// isListed reports whether gvk (or its List) is a listed custom kind in its
// listed version.
func (c *customWorkloads) isListed(gvk schema.GroupVersionKind) bool {
	ci, listed := c.state(strings.TrimSuffix(gvk.Kind, "List"))
	return listed && ci.kind.APIGroup == gvk.Group && ci.kind.Version == gvk.Version
}

// readyFor is ready for gvk or its List. A kind the API server does not
// serve answers the error its REST mapping would (meta.NoKindMatchError),
// which the audit takes as "none stored".
func (c *customWorkloads) readyFor(gvk schema.GroupVersionKind) (customInformer, error) {
	kind := strings.TrimSuffix(gvk.Kind, "List")
	ci, err := c.ready(kind)
	if err != nil && ci.informer == nil {
		return ci, &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gvk.Group, Kind: kind}, SearchedVersions: []string{gvk.Version}}
	}
	return ci, err
}

// get reads one object into u.
func (c *customWorkloads) get(key client.ObjectKey, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	ci, err := c.readyFor(gvk)
	if err != nil {
		return err
	}
	stored, exists, err := ci.informer.GetIndexer().GetByKey(key.Namespace + "/" + key.Name)
	if err != nil {
		return err
	}
	if !exists {
		return apierrors.NewNotFound(ci.kind.GroupVersionResource().GroupResource(), key.Name)
	}
	obj, err := customObject(ci, stored)
	if err != nil {
		return err
	}
	u.Object = obj.Object
	return nil
}

// list reads the objects into u, in one namespace or all, sorted by
// namespace and name. Selectors are not supported: the entries keep no
// labels.
func (c *customWorkloads) list(u *unstructured.UnstructuredList, opts ...client.ListOption) error {
	gvk := u.GroupVersionKind()
	ci, err := c.readyFor(gvk)
	if err != nil {
		return err
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	if (o.FieldSelector != nil && !o.FieldSelector.Empty()) || (o.LabelSelector != nil && !o.LabelSelector.Empty()) {
		return fmt.Errorf("listing %s: the cluster view does not support selectors", ci.kind.Resource)
	}
	u.Items = nil
	for _, stored := range ci.informer.GetStore().List() {
		obj, err := customObject(ci, stored)
		if err != nil {
			return err
		}
		if o.Namespace == "" || obj.GetNamespace() == o.Namespace {
			u.Items = append(u.Items, *obj)
		}
	}
	slices.SortFunc(u.Items, func(a, b unstructured.Unstructured) int {
		return strings.Compare(a.GetNamespace()+"/"+a.GetName(), b.GetNamespace()+"/"+b.GetName())
	})
	return nil
}

// customObject is the unstructured object of what a custom informer
// stores: for an entry, its identity, spec.replicas, spec.selector and the
// reduced spec.template; an object kept whole, a copy of it.
func customObject(ci customInformer, stored any) (*unstructured.Unstructured, error) {
	switch o := stored.(type) {
	case *unstructured.Unstructured:
		return o.DeepCopy(), nil
	case *entry:
		t, err := o.template()
		if err != nil {
			return nil, err
		}
		spec := map[string]any{}
		if o.replicas != nil {
			spec["replicas"] = int64(*o.replicas)
		}
		if sel := o.labelSelector(); sel != nil {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sel)
			if err != nil {
				return nil, err
			}
			spec["selector"] = m
		}
		tm, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&t)
		if err != nil {
			return nil, err
		}
		spec["template"] = tm
		meta := o.objectMeta()
		mm, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&meta)
		if err != nil {
			return nil, err
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": ci.kind.APIVersion(), "kind": ci.kind.Kind, "metadata": mm, "spec": spec,
		}}, nil
	}
	return nil, fmt.Errorf("%s: unexpected cached object %T", ci.kind.Resource, stored)
}
