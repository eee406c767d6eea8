// Package fieldpath reads back the text of a k8s.io/apimachinery
// field.Path. A Path keeps its steps to itself and offers only String(),
// yet two things need the steps of a finding's path: where its field is
// written in a YAML file (manifests), and a finding read back from JSON or
// from a kubectl warning. This is the one reading of that text.
package fieldpath

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Step is one step of a path: a field name ("spec"), or a subscript, which
// field.Path writes in brackets whether it is a list index (Index: "[0]") or
// a map key (Key: "[scaleguard.io/exempt]").
type Step struct {
	Name      string
	Subscript bool
}

// Index is the list index a subscript names; false for a field name or a
// subscript that is no number.
func (s Step) Index() (int, bool) {
	if !s.Subscript {
		return 0, false
	}
	i, err := strconv.Atoi(s.Name)
	return i, err == nil
}

// Steps returns the steps of p, none for a nil path.
func Steps(p *field.Path) []Step {
	if p == nil {
		return nil
	}
	return Split(p.String())
}

// Split reads the steps of the text a field.Path writes. It accepts any
// text: an empty name between dots is skipped, and a bracket left open is a
// subscript to the end.
func Split(s string) []Step {
	var out []Step
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return append(out, Step{Name: s[1:], Subscript: true})
			}
			out = append(out, Step{Name: s[1:end], Subscript: true})
			s = s[end+1:]
		default:
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			out = append(out, Step{Name: s[:end]})
			s = s[end:]
		}
	}
	return out
}

// Parse is the path that writes s, built step by step; nil for "". A
// subscript is rebuilt as a Key, which field.Path writes as it writes an
// Index. Text no field.Path writes (empty names, an open bracket, a
// subscript first, which a root of no name writes as "[]") gives the path
// of its steps.
func Parse(s string) *field.Path {
	var p *field.Path
	for _, st := range Split(s) {
		switch {
		case p == nil && st.Subscript:
			p = field.NewPath("")
			if st.Name != "" {
				p = p.Key(st.Name)
			}
		case p == nil:
			p = field.NewPath(st.Name)
		case st.Subscript:
			p = p.Key(st.Name)
		default:
			p = p.Child(st.Name)
		}
	}
	return p
}
