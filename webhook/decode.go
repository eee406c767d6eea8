package webhook

import (
	"fmt"

	kjson "sigs.k8s.io/json"
)

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
