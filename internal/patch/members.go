package patch

import (
	"bytes"
	"encoding/json"
	"errors"
)

// member is one member of a JSON object: its name, unescaped, and its
// value's bytes.
type member struct {
	name  []byte
	value []byte
}

var (
	errNotObject = errors.New("not a JSON object")
	errNotArray  = errors.New("not a JSON array")
)

// members lists the members of a JSON object, in order, without decoding
// their values. It does not check syntax: the object is the output of
// json.Marshal or a document that was decoded already, so it need not
// check names or nesting as jsontext.Decoder's ReadToken and SkipValue do
// on their way to the spec.
func members(obj []byte) ([]member, error) {
	i := space(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, errNotObject
	}
	var out []member
	i = space(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return out, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, errNotObject
		}
		end := stringEnd(obj, i)
		if end < 0 {
			return nil, errNotObject
		}
		name := obj[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(obj[i:end], &s); err != nil {
				return nil, errNotObject
			}
			name = []byte(s)
		}
		i = space(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil, errNotObject
		}
		i = space(obj, i+1)
		end = valueEnd(obj, i)
		if end < 0 {
			return nil, errNotObject
		}
		out = append(out, member{name: name, value: obj[i:end]})
		i = space(obj, end)
		if i < len(obj) && obj[i] == '}' {
			return out, nil
		}
		if i >= len(obj) || obj[i] != ',' {
			return nil, errNotObject
		}
		i = space(obj, i+1)
	}
}

// elements lists the elements of a JSON array, in order, without decoding
// them. Like members, it does not check syntax.
func elements(arr []byte) ([][]byte, error) {
	i := space(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return nil, errNotArray
	}
	var out [][]byte
	i = space(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return out, nil
	}
	for {
		end := valueEnd(arr, i)
		if end < 0 {
			return nil, errNotArray
		}
		out = append(out, arr[i:end])
		i = space(arr, end)
		if i < len(arr) && arr[i] == ']' {
			return out, nil
		}
		if i >= len(arr) || arr[i] != ',' {
			return nil, errNotArray
		}
		i = space(arr, i+1)
	}
}

// find returns the value of the member called name.
func find(ms []member, name []byte) ([]byte, bool) {
	for _, m := range ms {
		if bytes.Equal(m.name, name) {
			return m.value, true
		}
	}
	return nil, false
}

func space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i], or -1.
func stringEnd(b []byte, i int) int {
	for i++; i <= len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		q := i + j
		escapes := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			escapes++
		}
		if escapes%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
	return -1
}

// valueEnd returns the index after the value that starts at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
}
