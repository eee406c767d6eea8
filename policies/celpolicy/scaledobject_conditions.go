package celpolicy

import "github.com/scaleguard/scaleguard/policies"

// scaledObjectValidateCondition mirrors policies.EvaluateScaledObject: its
// cross-object rules (duplicate-hpa, target-requests) may find something
// in any ScaledObject, so every CREATE is sent, and every UPDATE that
// changes what a rule reads: the spec, a scaleguard.io/ annotation or
// KEDA's scaledobject.keda.sh/ annotations (the HPA ownership transfer
// duplicate-hpa honours). A metadata-only UPDATE, such as KEDA's own
// finalizer or a label, is not: it cannot change the verdict.
func scaledObjectValidateCondition(s *policies.Settings) string {
	anyOn := false
	for _, info := range policies.Catalogue() {
		for _, k := range info.Kinds {
			if k == policies.KindScaledObject && on(s, info.ID) {
				anyOn = true
			}
		}
	}
	if !anyOn {
		return never
	}
	kedaPrefix := quote(scaledObjectAnnotationPrefix)
	kedaChanged := annotations + ".exists(k, k.startsWith(" + kedaPrefix + ") && (!(k in " + oldAnnotations + ") || " + oldAnnotations + "[k] != " + annotations + "[k])) || " +
		oldAnnotations + ".exists(k, k.startsWith(" + kedaPrefix + ") && !(k in " + annotations + "))"
	return anyOf(
		isCreate,
		isUpdate+" && ("+anyOf(
			"object.?spec.orValue({}) != oldObject.?spec.orValue({})",
			ownAnnotationsChanged(),
			kedaChanged,
		)+")",
	)
}

// scaledObjectAnnotationPrefix starts the KEDA annotations a rule reads
// (policies' kedaTransferHPAOwnership).
const scaledObjectAnnotationPrefix = "scaledobject.keda.sh/"
