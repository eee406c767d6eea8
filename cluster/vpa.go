package cluster

import (
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/scaleguard/scaleguard/policies"
)

const vpas = "verticalpodautoscalers"

var vpaGVR = schema.GroupVersionResource{Group: policies.VPAGroup, Version: policies.VPAVersion, Resource: vpas}

// vpaWatch holds the VerticalPodAutoscalers when the cluster serves them
// (see crdWatch).
type vpaWatch struct{ *crdWatch }

func newVPAWatch(dyn dynamic.Interface, discovery resourceLister, interval time.Duration, log logr.Logger) *vpaWatch {
	return &vpaWatch{newCRDWatch(vpaGVR, transformVPA, dyn, discovery, interval, log)}
}

// vpasFor answers policies.Cluster.VPAsFor.
func (w *vpaWatch) vpasFor(namespace, kind, name string) ([]*policies.VPA, error) {
	return targeting[*policies.VPA](w.crdWatch, "VerticalPodAutoscalers", namespace, kind, name)
}

// transformVPA keeps what hpa-vpa-conflict reads of a VerticalPodAutoscaler
// (policies.VPA: the target, the update mode and the container policies'
// names, modes and controlled resources) and its identity. An object it
// cannot read becomes a VPA that targets nothing, rather than an error that
// would stop the informer.
func transformVPA(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return in, nil
	}
	var v policies.VPA
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		v = policies.VPA{}
	}
	out := &policies.VPA{Spec: v.Spec}
	out.TypeMeta, out.ObjectMeta = unstructuredIdentity(u)
	return out, nil
}
