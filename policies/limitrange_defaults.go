package policies

import corev1 "k8s.io/api/core/v1"

// The API server defaults a LimitRange before it stores it, and LimitRanger
// later fills a Pod's containers from the stored, defaulted object. The
// webhook's cluster view reads LimitRanges as stored; the offline check reads
// files that were never defaulted, so StaticCluster applies the same defaults
// when a LimitRange is added, and both judge the same object.

// ApplyLimitRangeDefaults sets the fields the API server would default on a
// LimitRange. Mirrors k8s.io/kubernetes v1.37.2 pkg/apis/core/v1/defaults.go
// SetDefaults_LimitRangeItem, item by item and in its order: for type
// Container only, a resource in max but not in default gets default = max;
// then a resource in default but not in defaultRequest gets defaultRequest =
// default; then a resource in min but not yet in defaultRequest gets
// defaultRequest = min. Items of other types are left alone. It is a no-op
// on a LimitRange the API server has already defaulted.
func ApplyLimitRangeDefaults(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		if item.Default == nil {
			item.Default = corev1.ResourceList{}
		}
		if item.DefaultRequest == nil {
			item.DefaultRequest = corev1.ResourceList{}
		}
		fillMissing(item.Default, item.Max)
		fillMissing(item.DefaultRequest, item.Default)
		fillMissing(item.DefaultRequest, item.Min)
	}
}

// fillMissing copies into dst each resource of src that dst does not have.
func fillMissing(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}
