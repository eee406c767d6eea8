package cluster

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/scaleguard/scaleguard/policies"
)

const scaledObjects = "scaledobjects"

var scaledObjectGVR = schema.GroupVersionResource{Group: policies.ScaledObjectGroup, Version: policies.ScaledObjectVersion, Resource: scaledObjects}

// scaledObjectWatch holds KEDA's ScaledObjects when the cluster serves them
// (see crdWatch).
type scaledObjectWatch struct{ *crdWatch }

func newScaledObjectWatch(dyn dynamic.Interface, discovery resourceLister, interval time.Duration, log logr.Logger) *scaledObjectWatch {
	return &scaledObjectWatch{newCRDWatch(scaledObjectGVR, transformScaledObject, dyn, discovery, interval, log)}
}

// scaledObjectsFor answers policies.Cluster.ScaledObjectsFor.
func (w *scaledObjectWatch) scaledObjectsFor(namespace, kind, name string) ([]*policies.ScaledObject, error) {
	return targeting[*policies.ScaledObject](w.crdWatch, "ScaledObjects", namespace, kind, name)
}

// in returns the ScaledObjects of namespace (every one for
// metav1.NamespaceAll), for the audit.
func (w *scaledObjectWatch) in(namespace string) ([]*policies.ScaledObject, error) {
	objs, err := w.inNamespace(namespace)
	if err != nil {
		return nil, fmt.Errorf("the ScaledObjects of %s: %w", namespace, err)
	}
	out := make([]*policies.ScaledObject, 0, len(objs))
	for _, o := range objs {
		if so, ok := o.(*policies.ScaledObject); ok {
			out = append(out, so.DeepCopy())
		}
	}
	return out, nil
}

// kedaAnnotationPrefix starts the annotations of a ScaledObject KEDA reads
// that the rules read too (scaledobject.keda.sh/transfer-hpa-ownership).
const kedaAnnotationPrefix = "scaledobject.keda.sh/"

// transformScaledObject keeps what the rules read of a ScaledObject
// (policies.ScaledObject: the target, the replica bounds, the HPA's name
// and behavior, the triggers' type, metadata and metricType), its identity
// and the annotations of scaleguard and KEDA's own. An object it cannot
// read becomes a ScaledObject that targets nothing, rather than an error
// that would stop the informer.
func transformScaledObject(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return in, nil
	}
	var so policies.ScaledObject
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &so); err != nil {
		so = policies.ScaledObject{}
	}
	out := &policies.ScaledObject{Spec: so.Spec}
	out.TypeMeta, out.ObjectMeta = unstructuredIdentity(u, kedaAnnotationPrefix)
	return out, nil
}
