package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/scaleguard/scaleguard/policies"
)

// getCustom is get for a listed custom workload kind k: the object as its
// informer would hold it (transformCustomWorkload), or nil when the API
// server has none. It shares get's bounds (liveCalls) and metric, with the
// kind's resource as the resource label.
func (d *directWorkloads) getCustom(dyn dynamic.Interface, k policies.WorkloadKind, namespace, name string) (any, error) {
	var obj *unstructured.Unstructured
	tried, err := d.calls.do(fmt.Sprintf("looking up %s %s/%s in the API server", k.Resource, namespace, name), func(ctx context.Context) error {
		var err error
		obj, err = dyn.Resource(k.GroupVersionResource()).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			obj = nil
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		if tried {
			d.lookups.WithLabelValues(k.Resource, directError).Inc()
		}
		return nil, err
	case obj == nil:
		d.lookups.WithLabelValues(k.Resource, directNotFound).Inc()
		return nil, nil
	}
	d.lookups.WithLabelValues(k.Resource, directFound).Inc()
	return transformCustomWorkload(k)(obj)
}
