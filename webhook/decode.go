package webhook

import (
	"errors"
	"fmt"

	"gomodules.xyz/jsonpatch/v2"
	kjson "sigs.k8s.io/json"
)

type jsonpatchOperation = jsonpatch.JsonPatchOperation

// decodeObject reads an object from a review. Field names are matched case
// sensitively, as the API server does; unknown fields are ignored here and
// survive because patches are computed between typed objects.
func decodeObject(raw []byte, into any, field string) error {
	if len(raw) == 0 {
		return fmt.Errorf("request.%s is empty", field)
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, into); err != nil {
		return fmt.Errorf("request.%s is not valid: %w", field, err)
	}
	return nil
}

// createPatch returns the JSON patch from a to b. An unchanged object yields
// no operations: json.Marshal writes struct fields in a fixed order, so equal
// objects give equal bytes.
func createPatch(a, b []byte) ([]jsonpatchOperation, error) {
	ops, err := jsonpatch.CreatePatch(a, b)
	if err != nil {
		return nil, errors.Join(errors.New("computing JSON patch"), err)
	}
	return ops, nil
}
