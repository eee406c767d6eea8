package manifests

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/scaleguard/scaleguard/internal/objectjson"
	"github.com/scaleguard/scaleguard/policies"
)

// customWorkloadKind is the kind of settings.workloadKinds d is an object
// of. Any version of the listed group and kind is one: the files may hold
// an older version the API server converts, and the webhook receives it
// converted to the listed one (matchPolicy Equivalent), with the pod
// template at the same path.
func customWorkloadKind(d Document, s *policies.Settings) (policies.WorkloadKind, bool) {
	gv, err := schema.ParseGroupVersion(d.APIVersion)
	if err != nil {
		return policies.WorkloadKind{}, false
	}
	return s.CustomWorkloadKind(gv.Group, d.Kind)
}

// decodeCustomWorkload reads a document of a listed custom kind as the
// webhook and the cluster view read the stored object
// (policies.WorkloadFromUnstructured), and adds it to cluster: an HPA in
// the files that scales it is judged against it.
func decodeCustomWorkload(d Document, k policies.WorkloadKind, cluster *policies.StaticCluster) (object, error) {
	var obj map[string]any
	if err := objectjson.Unmarshal(d.JSON, &obj); err != nil {
		return object{}, &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
	}
	w, err := policies.WorkloadFromUnstructured(k, obj)
	if err != nil {
		return object{}, &ParseError{Source: d.Source, Err: err}
	}
	cluster.AddWorkload(w)
	return object{workload: &w}, nil
}
