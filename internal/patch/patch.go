// Package patch computes and applies the JSON patches scaleguard's
// mutations produce, for the webhook and for `scaleguard check --fix` alike.
// The operations are gomodules.xyz/jsonpatch's CreatePatch, the diff
// controller-runtime's defaulter makes. Its own code chooses what
// CreatePatch diffs and drops what the Go type alone would change: members
// finds an object's members without decoding them, so that only what
// changed is decoded and diffed.
package patch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
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
// doc, the JSON object before was decoded from (already decoded, so known
// to be valid). before and after are values of one Go type that encodes as
// a JSON object: an HPA, or a struct holding only the spec, as the webhook
// passes.
//
// The operations are jsonpatch.CreatePatch's, as controller-runtime's
// defaulter makes them: the document against the mutated value. Only the
// members that changed are diffed, two levels down (the spec, then the
// spec's members): a mutation changes minReplicas, metrics or behavior.
// Diffing the whole spec decoded the rest of it twice for nothing and made
// a mutation cost 1.6 encoding/json decodes of its review, over the goal of
// 1.5 (docs/PERFORMANCE.md, P1).
//
// The type writes some things differently from the document: it leaves out
// fields it does not know (a newer API server's), writes fields the
// document lacks (a struct is never omitted) and writes values in its own
// form (a quantity's canonical form). Those operations are dropped, as the
// defaulter drops removals since controller-runtime#2982; here additions
// and replacements too, so a patch holds only what the mutation changed.
// Members the type does not know are never visited; below the second
// level, the operations that also turn the document into before's value
// are the type's. A member the document lacks is added whole.
func ForDocument(doc []byte, before, after any) ([]Operation, error) {
	jb, err := json.Marshal(before)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	ja, err := json.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("encoding the mutated object: %w", err)
	}
	// json.Marshal writes struct fields in order and sorts map keys, so an
	// unchanged value encodes to the same bytes: no patch, and no diff.
	if bytes.Equal(jb, ja) {
		return nil, nil
	}
	mb, err := members(jb)
	if err != nil {
		return nil, fmt.Errorf("the object: %w", err)
	}
	ma, err := members(ja)
	if err != nil {
		return nil, fmt.Errorf("the mutated object: %w", err)
	}
	md, err := members(doc)
	if err != nil {
		return nil, fmt.Errorf("the document: %w", err)
	}
	return objectPatch(nil, "", md, mb, ma, 1)
}

// objectPatch appends the operations that turn the members of an object
// from before's into after's, fitted to the document's (all three lists of
// members, the object at path). levels more below it are split into
// members the same way; below that, memberPatch diffs.
func objectPatch(ops []Operation, path string, md, mb, ma []member, levels int) ([]Operation, error) {
	for _, m := range ma {
		vb, inB := find(mb, m.name)
		if inB && bytes.Equal(vb, m.value) {
			continue
		}
		p := path + "/" + pointerEscaper.Replace(string(m.name))
		vd, inD := find(md, m.name)
		if !inD {
			ops = append(ops, Operation{Operation: "add", Path: p, Value: json.RawMessage(m.value)})
			continue
		}
		if inB && levels > 0 {
			// Members when all three are objects; a document's null or
			// other value is diffed whole.
			mdd, errD := members(vd)
			mbb, errB := members(vb)
			maa, errA := members(m.value)
			if errD == nil && errB == nil && errA == nil {
				var err error
				if ops, err = objectPatch(ops, p, mdd, mbb, maa, levels-1); err != nil {
					return nil, err
				}
				continue
			}
		}
		if inB {
			if ed, eb, ea, ok := arrays(vd, vb, m.value); ok {
				var err error
				if ops, err = arrayPatch(ops, p, ed, eb, ea); err != nil {
					return nil, err
				}
				continue
			}
		}
		var err error
		if ops, err = appendMemberPatch(ops, p, vd, vb, m.value); err != nil {
			return nil, err
		}
	}
	// A member before wrote and after leaves out (an emptied omitempty
	// field) is removed.
	for _, m := range mb {
		if _, inA := find(ma, m.name); inA {
			continue
		}
		if _, inD := find(md, m.name); inD {
			ops = append(ops, Operation{Operation: "remove", Path: path + "/" + pointerEscaper.Replace(string(m.name))})
		}
	}
	return ops, nil
}

// arrays splits the document's, before's and after's values of a member
// into their elements, when all three are arrays and before has as many
// as the document (it was decoded from it).
func arrays(doc, before, after []byte) (ed, eb, ea [][]byte, ok bool) {
	var errD, errB, errA error
	ed, errD = elements(doc)
	eb, errB = elements(before)
	ea, errA = elements(after)
	return ed, eb, ea, errD == nil && errB == nil && errA == nil && len(eb) == len(ed)
}

// arrayPatch appends the operations that turn the array at path from the
// document's elements into after's, as CreatePatch does for an array:
// index by index, the elements past the end of the shorter one removed
// (from the last) or added, and each element both have diffed. Diffing
// element by element, with before's alongside, decodes only the elements
// whose bytes changed: a mutation that adds a metric decodes none.
func arrayPatch(ops []Operation, path string, doc, before, after [][]byte) ([]Operation, error) {
	n := min(len(doc), len(after))
	for i := len(doc) - 1; i >= n; i-- {
		ops = append(ops, Operation{Operation: "remove", Path: path + "/" + strconv.Itoa(i)})
	}
	for i := n; i < len(after); i++ {
		ops = append(ops, Operation{Operation: "add", Path: path + "/" + strconv.Itoa(i), Value: json.RawMessage(after[i])})
	}
	for i := range n {
		var err error
		if ops, err = appendMemberPatch(ops, path+"/"+strconv.Itoa(i), doc[i], before[i], after[i]); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// appendMemberPatch appends memberPatch's operations for the value at path.
func appendMemberPatch(ops []Operation, path string, doc, before, after []byte) ([]Operation, error) {
	memberOps, err := memberPatch(doc, before, after)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, op := range memberOps {
		op.Path = path + op.Path
		ops = append(ops, op)
	}
	return ops, nil
}

// memberPatch diffs the document's value of a member, doc, against after's,
// less what the type alone changes: the operations that also turn doc into
// before's value. When doc reads as before's bytes (an API server writes
// what json.Marshal writes), there is nothing to drop and that second diff
// is skipped. before is nil when the type left the member out, having read
// it as empty: an object then holds only fields the type does not know, or
// leaves out, and none of them is removed.
func memberPatch(doc, before, after []byte) ([]Operation, error) {
	ops, err := jsonpatch.CreatePatch(doc, after)
	if err != nil {
		return nil, err
	}
	if before == nil {
		if i := space(doc, 0); i == len(doc) || doc[i] != '{' {
			return ops, nil
		}
		before = []byte("{}")
	}
	if len(ops) == 0 || bytes.Equal(doc, before) {
		return ops, nil
	}
	typeOps, err := jsonpatch.CreatePatch(doc, before)
	if err != nil {
		return nil, err
	}
	out := ops[:0]
	for _, op := range ops {
		if !slices.ContainsFunc(typeOps, func(t Operation) bool {
			return t.Operation == op.Operation && t.Path == op.Path && reflect.DeepEqual(t.Value, op.Value)
		}) {
			out = append(out, op)
		}
	}
	return out, nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
