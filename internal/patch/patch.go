// Package patch computes and applies the JSON patches scaleguard's
// mutations produce, for the webhook and for `scaleguard check --fix` alike.
package patch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
)

// Operation is one RFC 6902 operation.
type Operation = jsonpatch.JsonPatchOperation

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

// ForDocument returns the operations that turn before into after, fitted to
// doc, the JSON that before was decoded from. Go types write some parents
// that the document may lack (a struct field such as spec is never
// omitted); an operation under such a parent would not apply, so it is
// replaced by one that adds the missing parent with after's value for it.
//
// before and after must be values of one Go type: fields that type does
// not know (a newer API server's) appear on neither side, so the patch
// leaves them alone in doc. The operations come from walking the two typed
// values (see diff; a type it does not handle is an error); only when one
// of them may lie under a parent the document lacks is the document itself
// read.
func ForDocument(doc []byte, before, after any) ([]Operation, error) {
	ops, uncertain, err := diff(before, after)
	if err != nil || len(ops) == 0 || !uncertain {
		return ops, err
	}
	var d any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("decoding document: %w", err)
	}
	var target any
	out := ops[:0]
	var added []string
	for _, op := range ops {
		if underAny(op.Path, added) {
			continue
		}
		segs := splitPointer(op.Path)
		for i := 1; i < len(segs); i++ {
			if _, ok := lookup(d, segs[:i]); ok {
				continue
			}
			if target == nil {
				b, err := json.Marshal(after)
				if err != nil {
					return nil, fmt.Errorf("encoding mutated object: %w", err)
				}
				if err := json.Unmarshal(b, &target); err != nil {
					return nil, fmt.Errorf("decoding mutated object: %w", err)
				}
			}
			v, _ := lookup(target, segs[:i])
			parent := joinPointer(segs[:i])
			op = Operation{Operation: "add", Path: parent, Value: v}
			added = append(added, parent)
			break
		}
		out = append(out, op)
	}
	return out, nil
}

func underAny(path string, parents []string) bool {
	for _, p := range parents {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// splitPointer splits an RFC 6901 pointer into unescaped segments.
func splitPointer(p string) []string {
	if p == "" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}

func joinPointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// lookup follows segments through decoded JSON.
func lookup(v any, segs []string) (any, bool) {
	for _, s := range segs {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[s]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}
