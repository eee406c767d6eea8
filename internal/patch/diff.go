package patch

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// diff walks two values of one Go type the way encoding/json writes them
// and returns the operations that turn before into after, without writing
// either as JSON: where encoding both sides and diffing the documents costs
// a few times more than decoding the object did, walking the typed values
// costs a few microseconds.
//
// before must have been decoded from the document the patch applies to,
// which tells which paths exist there: a value that is not the zero value
// was read from the document, so its path is there. An operation whose
// parent is the zero value may lie under a path the document lacks (or
// holds only fields the type does not know); the second result says whether
// any operation is in that case, for ForDocument to check against the
// document. Members are set with "replace" when they are known to exist and
// "add" otherwise, which sets a member whether it exists or not.
//
// errUnsupported reports a type the walk does not handle (channels,
// functions, `json:",string"`). None of the types scaleguard diffs (an
// HPA, its spec, a workload's replicas) has one.
func diff(before, after any) (ops []Operation, uncertain bool, err error) {
	a, b := reflect.ValueOf(before), reflect.ValueOf(after)
	if a.Type() != b.Type() {
		return nil, false, fmt.Errorf("diffing a %s against a %s", a.Type(), b.Type())
	}
	d := &differ{}
	if err := d.value(make([]string, 0, 16), a, b, true); err != nil {
		return nil, false, err
	}
	return d.ops, d.uncertain, nil
}

var errUnsupported = errors.New("type not supported by the typed diff")

type differ struct {
	ops       []Operation
	uncertain bool
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// value compares a and b at path. present says whether path is known to
// exist in the document.
func (d *differ) value(path []string, a, b reflect.Value, present bool) error {
	t := a.Type()
	if marshals(t) || t.Kind() == reflect.Interface {
		return d.leaf(path, a, b, present)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				d.set(path, b, present)
			}
			return nil
		}
		return d.value(path, a.Elem(), b.Elem(), true)
	case reflect.Struct:
		// A struct that is not the zero value was decoded from the
		// document, so it is there; one that is may be missing, and so may
		// be the parents of what is set inside it.
		present = present || !a.IsZero()
		n := len(d.ops)
		err := d.fields(path, a, b)
		if !present && len(d.ops) > n {
			d.uncertain = true
		}
		return err
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			// null against a list: set the list, or null, whole.
			d.set(path, b, present)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			// []byte is written as base64: a leaf.
			return d.leaf(path, a, b, present)
		}
		return d.list(path, a, b)
	case reflect.Array:
		return d.list(path, a, b)
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			d.set(path, b, present)
			return nil
		}
		return d.mapEntries(path, a, b)
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		if !a.Equal(b) {
			d.set(path, b, present)
		}
		return nil
	}
	return fmt.Errorf("%w: %s", errUnsupported, t)
}

// leaf compares values that write themselves (resource.Quantity,
// metav1.Time, intstr.IntOrString) or are interfaces by their JSON.
func (d *differ) leaf(path []string, a, b reflect.Value, present bool) error {
	ja, err := json.Marshal(a.Interface())
	if err != nil {
		return fmt.Errorf("encoding %s: %w", joinPointer(path), err)
	}
	jb, err := json.Marshal(b.Interface())
	if err != nil {
		return fmt.Errorf("encoding %s: %w", joinPointer(path), err)
	}
	if !bytes.Equal(ja, jb) {
		d.set(path, b, present)
	}
	return nil
}

// set writes b at path: "replace" when path is known to exist, else "add",
// which also replaces a member that exists.
func (d *differ) set(path []string, b reflect.Value, present bool) {
	op := "add"
	if present {
		op = "replace"
	}
	d.emit(op, path, b.Interface())
}

func (d *differ) emit(op string, path []string, v any) {
	d.ops = append(d.ops, Operation{Operation: op, Path: joinPointer(path), Value: v})
}

// child returns path with one more segment. Siblings share the backing
// array: nothing keeps a path past the call it is passed to (emit turns it
// into a string at once), so the walk allocates no paths.
func child(path []string, seg string) []string {
	return append(path, seg)
}

// fields compares the fields of two structs. A member that exists on both
// sides and is not the zero value in a was decoded from the document, so it
// is there; the struct's own presence is value's business.
func (d *differ) fields(path []string, a, b reflect.Value) error {
	fs, err := fieldsOf(a.Type())
	if err != nil {
		return err
	}
	for _, f := range fs {
		fa, fb := a.FieldByIndex(f.index), b.FieldByIndex(f.index)
		if f.inline {
			if err := d.fields(path, fa, fb); err != nil {
				return err
			}
			continue
		}
		inA, inB := f.written(fa), f.written(fb)
		p := child(path, f.name)
		switch {
		case !inA && !inB:
		case !inA:
			d.emit("add", p, fb.Interface())
		case !inB:
			// Left out only when empty: a's value is not, so it was read
			// from the document.
			d.emit("remove", p, nil)
		default:
			if err := d.value(p, fa, fb, !fa.IsZero()); err != nil {
				return err
			}
		}
	}
	return nil
}

// list compares element by element; elements beyond the shorter side are
// added in order or removed from the end.
func (d *differ) list(path []string, a, b reflect.Value) error {
	n := min(a.Len(), b.Len())
	for i := range n {
		if err := d.value(child(path, strconv.Itoa(i)), a.Index(i), b.Index(i), true); err != nil {
			return err
		}
	}
	for i := n; i < b.Len(); i++ {
		d.emit("add", child(path, strconv.Itoa(i)), b.Index(i).Interface())
	}
	for i := a.Len() - 1; i >= n; i-- {
		d.emit("remove", child(path, strconv.Itoa(i)), nil)
	}
	return nil
}

func (d *differ) mapEntries(path []string, a, b reflect.Value) error {
	if a.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("%w: map key %s", errUnsupported, a.Type().Key())
	}
	keys := func(m reflect.Value) []string {
		out := make([]string, 0, m.Len())
		for it := m.MapRange(); it.Next(); {
			out = append(out, it.Key().String())
		}
		slices.Sort(out)
		return out
	}
	ka, kb := keys(a), keys(b)
	key := func(m reflect.Value, k string) reflect.Value {
		return m.MapIndex(reflect.ValueOf(k).Convert(m.Type().Key()))
	}
	for _, k := range kb {
		vb := key(b, k)
		if _, found := slices.BinarySearch(ka, k); !found {
			d.emit("add", child(path, k), vb.Interface())
			continue
		}
		if err := d.value(child(path, k), key(a, k), vb, true); err != nil {
			return err
		}
	}
	for _, k := range ka {
		if _, found := slices.BinarySearch(kb, k); !found {
			d.emit("remove", child(path, k), nil)
		}
	}
	return nil
}

// field is a struct field as encoding/json writes it.
type field struct {
	index     []int
	name      string
	omitempty bool
	omitzero  bool
	inline    bool // an embedded struct without a name: its fields are the parent's
}

// written reports whether encoding/json writes the field with value v.
func (f field) written(v reflect.Value) bool {
	if f.omitzero && v.IsZero() {
		return false
	}
	if !f.omitempty {
		return true
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() != 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return !v.IsZero()
	}
	return true
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists the fields encoding/json writes for a struct type, in
// order. Name conflicts between embedded structs, which encoding/json
// resolves by depth, are not supported.
func fieldsOf(t reflect.Type) ([]field, error) {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field), nil
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{index: sf.Index, name: name}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				f.omitempty = true
			case "omitzero":
				f.omitzero = true
			case "inline":
				f.inline = true
			case "string":
				return nil, fmt.Errorf("%w: %s.%s has the string option", errUnsupported, t, sf.Name)
			}
		}
		ft := sf.Type
		if sf.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				return nil, fmt.Errorf("%w: %s embeds a pointer", errUnsupported, t)
			}
			if ft.Kind() == reflect.Struct && !marshals(ft) {
				f.inline = true
			}
		}
		if f.inline {
			if ft.Kind() != reflect.Struct {
				return nil, fmt.Errorf("%w: %s.%s is inline but not a struct", errUnsupported, t, sf.Name)
			}
			fs = append(fs, f)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if f.name == "" {
			f.name = sf.Name
		}
		fs = append(fs, f)
	}
	fieldCache.Store(t, fs)
	return fs, nil
}

var marshalsCache sync.Map // reflect.Type → bool

// marshals reports whether values of t write themselves.
func marshals(t reflect.Type) bool {
	if m, ok := marshalsCache.Load(t); ok {
		return m.(bool)
	}
	m := t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
	marshalsCache.Store(t, m)
	return m
}
