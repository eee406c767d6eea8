// Package patch computes and applies the JSON patches scaleguard's
// mutations produce, for the webhook and for `scaleguard check --fix` alike.
package patch

import (
	"encoding/json"
	"fmt"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
)

// Operation is one RFC 6902 operation.
type Operation = jsonpatch.JsonPatchOperation

// Between returns the operations that turn before into after. Both must be
// values of the same Go type: fields that type does not know (a newer API
// server's) appear on neither side, so the patch, applied to the full JSON
// the object came from, leaves them alone. Diffing the raw JSON against the
// typed result instead would delete them.
//
// An unchanged object yields no operations: json.Marshal writes struct
// fields in a fixed order, so equal objects give equal bytes.
func Between(before, after any) ([]Operation, error) {
	a, err := json.Marshal(before)
	if err != nil {
		return nil, fmt.Errorf("encoding object: %w", err)
	}
	b, err := json.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("encoding mutated object: %w", err)
	}
	ops, err := jsonpatch.CreatePatch(a, b)
	if err != nil {
		return nil, fmt.Errorf("computing JSON patch: %w", err)
	}
	return ops, nil
}

// Apply applies operations to a JSON document.
func Apply(doc []byte, ops []Operation) ([]byte, error) {
	raw, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON patch: %w", err)
	}
	p, err := jsonpatchapply.DecodePatch(raw)
	if err != nil {
		return nil, fmt.Errorf("decoding JSON patch: %w", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		return nil, fmt.Errorf("applying JSON patch: %w", err)
	}
	return out, nil
}
