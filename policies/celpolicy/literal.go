package celpolicy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// literal writes v, any value that encodes to JSON, as a CEL literal. An
// object read by CEL in the API server is its JSON form, so a literal built
// from the same Go value compares equal to it with ==.
func literal(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		// Only the package's own Kubernetes types are passed in.
		panic(fmt.Sprintf("celpolicy: %T cannot be written as a CEL literal: %v", v, err))
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		panic(fmt.Sprintf("celpolicy: decoding %s: %v", data, err))
	}
	var b strings.Builder
	writeLiteral(&b, tree)
	return b.String()
}

func writeLiteral(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		// Kubernetes objects hold integers; a number with a fraction or an
		// exponent is a double in CEL, and int and double never compare
		// equal there, so each is written as what the API server reads.
		if _, err := v.Int64(); err == nil {
			b.WriteString(v.String())
		} else {
			f, _ := v.Float64()
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			b.WriteString(s)
		}
	case string:
		b.WriteString(quote(v))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			dyn(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(k))
			b.WriteString(": ")
			dyn(b, v[k])
		}
		b.WriteByte('}')
	}
}

// dyn writes v as dyn(v): CEL's type checker refuses a list or map literal
// whose values differ in type, as an object's fields do.
func dyn(b *strings.Builder, v any) {
	b.WriteString("dyn(")
	writeLiteral(b, v)
	b.WriteByte(')')
}

// quote writes s as a CEL string literal. CEL's escapes are a superset of
// the ones strconv.Quote emits for a double-quoted string.
func quote(s string) string {
	return strconv.Quote(s)
}

// stringList writes ss as a CEL list of strings.
func stringList[S ~string](ss []S) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = quote(string(s))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
