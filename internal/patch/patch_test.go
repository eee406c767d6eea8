package patch

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

type spec struct {
	Min      *int               `json:"min,omitempty"`
	Labels   map[string]string  `json:"labels,omitempty"`
	Behavior *behavior          `json:"behavior,omitempty"`
	Target   *resource.Quantity `json:"target,omitempty"`
	Extra    extra              `json:"extra,omitzero"`
	Items    []item             `json:"items,omitempty"`
}

type item struct {
	Name   string             `json:"name"`
	Target *resource.Quantity `json:"target,omitempty"`
}

type extra struct {
	A int `json:"a,omitempty"`
}

type behavior struct {
	Window int `json:"window"`
}

type object struct {
	Spec spec `json:"spec"`
}

// replicas is the workload mutator's view of an object: of the spec, only
// replicas.
type replicas struct {
	Spec struct {
		Replicas *int `json:"replicas,omitempty"`
	} `json:"spec"`
}

func withReplicas(n int) replicas {
	var r replicas
	r.Spec.Replicas = &n
	return r
}

func quantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestForDocument(t *testing.T) {
	two := 2
	tests := map[string]struct {
		doc           string
		before, after any
		want          string
		result        string
	}{
		"unchanged object gives no operations": {
			doc: `{"spec":{"min":1}}`, before: object{spec{Min: new(int)}}, after: object{spec{Min: new(int)}},
			want: `null`, result: `{"spec":{"min":1}}`,
		},
		"a parent the document lacks is added whole": {
			doc: `{"extra":true}`, before: object{}, after: object{spec{Min: &two}},
			want:   `[{"op":"add","path":"/spec","value":{"min":2}}]`,
			result: `{"extra":true,"spec":{"min":2}}`,
		},
		"a parent the document holds as null is replaced": {
			doc: `{"spec":null}`, before: object{}, after: object{spec{Min: &two}},
			want:   `[{"op":"replace","path":"/spec","value":{"min":2}}]`,
			result: `{"spec":{"min":2}}`,
		},
		"unknown fields beside the change survive": {
			doc: `{"spec":{"future":{"a":1}},"other":"x"}`, before: object{}, after: object{spec{Min: &two}},
			want:   `[{"op":"add","path":"/spec/min","value":2}]`,
			result: `{"other":"x","spec":{"future":{"a":1},"min":2}}`,
		},
		"unknown fields inside the change survive": {
			doc: `{"spec":{"behavior":{"window":1,"future":true}}}`, before: object{spec{Behavior: &behavior{1}}},
			after:  object{spec{Behavior: &behavior{2}}},
			want:   `[{"op":"replace","path":"/spec/behavior/window","value":2}]`,
			result: `{"spec":{"behavior":{"window":2,"future":true}}}`,
		},
		"what the type writes and the document lacks is not added": {
			doc: `{"spec":{"behavior":{}}}`, before: object{spec{Behavior: &behavior{}}},
			after:  object{spec{Behavior: &behavior{}, Min: &two}},
			want:   `[{"op":"add","path":"/spec/min","value":2}]`,
			result: `{"spec":{"behavior":{},"min":2}}`,
		},
		"a value the type writes in another form is left as written": {
			doc: `{"spec":{"target":"0.5"}}`, before: object{spec{Target: quantity("0.5")}},
			after:  object{spec{Target: quantity("0.5"), Min: &two}},
			want:   `[{"op":"add","path":"/spec/min","value":2}]`,
			result: `{"spec":{"target":"0.5","min":2}}`,
		},
		"a value the mutation changes is replaced": {
			doc: `{"spec":{"target":"0.5"}}`, before: object{spec{Target: quantity("0.5")}},
			after:  object{spec{Target: quantity("1")}},
			want:   `[{"op":"replace","path":"/spec/target","value":"1"}]`,
			result: `{"spec":{"target":"1"}}`,
		},
		"fields the type does not know in a member it left out survive": {
			doc: `{"spec":{"extra":{"future":1}}}`, before: object{}, after: object{spec{Extra: extra{A: 2}}},
			want:   `[{"op":"add","path":"/spec/extra/a","value":2}]`,
			result: `{"spec":{"extra":{"future":1,"a":2}}}`,
		},
		"a member the mutation empties is removed": {
			doc: `{"spec":{"min":2,"future":1}}`, before: object{spec{Min: &two}}, after: object{},
			want:   `[{"op":"remove","path":"/spec/min"}]`,
			result: `{"spec":{"future":1}}`,
		},
		"a type that knows one field patches only it": {
			doc:    `{"spec":{"replicas":5,"template":{"spec":{"containers":[{"name":"a"}]}}},"status":{}}`,
			before: withReplicas(5), after: withReplicas(3),
			want:   `[{"op":"replace","path":"/spec/replicas","value":3}]`,
			result: `{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"a"}]}}},"status":{}}`,
		},
		"keys with / and ~ are escaped": {
			doc: `{"spec":{"labels":{"x":"y"}}}`, before: object{spec{Labels: map[string]string{"x": "y"}}},
			after:  object{spec{Labels: map[string]string{"x": "y", "a/b~c": "v"}}},
			want:   `[{"op":"add","path":"/spec/labels/a~1b~0c","value":"v"}]`,
			result: `{"spec":{"labels":{"a/b~c":"v","x":"y"}}}`,
		},
		"an element appended to an array is added and the others are not diffed": {
			doc:    `{"spec":{"items":[{"name":"a","future":1}]}}`,
			before: object{spec{Items: []item{{Name: "a"}}}}, after: object{spec{Items: []item{{Name: "a"}, {Name: "b"}}}},
			want:   `[{"op":"add","path":"/spec/items/1","value":{"name":"b"}}]`,
			result: `{"spec":{"items":[{"name":"a","future":1},{"name":"b"}]}}`,
		},
		"an element changed in an array is diffed inside it": {
			doc:    `{"spec":{"items":[{"name":"a"},{"name":"b","future":1}]}}`,
			before: object{spec{Items: []item{{Name: "a"}, {Name: "b"}}}}, after: object{spec{Items: []item{{Name: "a"}, {Name: "c"}}}},
			want:   `[{"op":"replace","path":"/spec/items/1/name","value":"c"}]`,
			result: `{"spec":{"items":[{"name":"a"},{"name":"c","future":1}]}}`,
		},
		"elements past the new end are removed, the last first": {
			doc:    `{"spec":{"items":[{"name":"a"},{"name":"b"},{"name":"c"}]}}`,
			before: object{spec{Items: []item{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}, after: object{spec{Items: []item{{Name: "a"}}}},
			want:   `[{"op":"remove","path":"/spec/items/2"},{"op":"remove","path":"/spec/items/1"}]`,
			result: `{"spec":{"items":[{"name":"a"}]}}`,
		},
		"an element the type writes in another form is left as written": {
			doc:    `{"spec":{"items":[{"name":"a","target":"0.5"}]}}`,
			before: object{spec{Items: []item{{Name: "a", Target: quantity("0.5")}}}},
			after:  object{spec{Items: []item{{Name: "a", Target: quantity("0.5")}, {Name: "b"}}}},
			want:   `[{"op":"add","path":"/spec/items/1","value":{"name":"b"}}]`,
			result: `{"spec":{"items":[{"name":"a","target":"0.5"},{"name":"b"}]}}`,
		},
		"a name the document escapes is the same name": {
			doc: "{\"sp\\u0065c\" : {\"min\":1, \"future\":1}}", before: object{spec{Min: new(int)}}, after: object{spec{Min: &two}},
			want:   `[{"op":"replace","path":"/spec/min","value":2}]`,
			result: `{"spec":{"min":2,"future":1}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ops, err := ForDocument([]byte(tc.doc), tc.before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(ops)
			if len(ops) == 0 {
				got = []byte("null")
			}
			if string(got) != tc.want {
				t.Errorf("ops = %s, want %s", got, tc.want)
			}
			out := []byte(tc.doc)
			if len(ops) > 0 {
				if out, err = Apply(out, ops); err != nil {
					t.Fatal(err)
				}
			}
			var a, b any
			_ = json.Unmarshal(out, &a)
			_ = json.Unmarshal([]byte(tc.result), &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("patched = %s, want %s", ja, jb)
			}
		})
	}
}

// TestForDocumentErrors: a value JSON cannot encode, or one that is not an
// object, is an error, not a patch.
func TestForDocumentErrors(t *testing.T) {
	type unencodable struct {
		Spec struct {
			Done chan int `json:"done"`
		} `json:"spec"`
	}
	for name, tc := range map[string]struct {
		doc           string
		before, after any
		want          string
	}{
		"unencodable":         {`{}`, unencodable{}, unencodable{}, "unsupported type"},
		"not an object":       {`{}`, []int{1}, []int{2}, "not a JSON object"},
		"document not object": {`[]`, object{}, object{spec{Min: new(int)}}, "the document: not a JSON object"},
	} {
		t.Run(name, func(t *testing.T) {
			ops, err := ForDocument([]byte(tc.doc), tc.before, tc.after)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ops != nil {
				t.Fatalf("ForDocument = %v, %v; want an error saying %q", ops, err, tc.want)
			}
		})
	}
}

func TestElements(t *testing.T) {
	for arr, want := range map[string]string{
		`[]`:                           ``,
		` [ ] `:                        ``,
		`[1,"a]",{"b":[2,3]},[],null]`: `1|"a]"|{"b":[2,3]}|[]|null`,
		"[ true ,\n\"x\" ]":            `true|"x"`,
	} {
		es, err := elements([]byte(arr))
		if err != nil {
			t.Errorf("elements(%s): %v", arr, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, string(e))
		}
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("elements(%s) = %s, want %s", arr, g, want)
		}
	}
	for _, arr := range []string{``, `{}`, `[`, `[1`, `[1,]`, `[1 2]`, `["a]`, `[,1]`} {
		if es, err := elements([]byte(arr)); err == nil {
			t.Errorf("elements(%s) = %q, want an error", arr, es)
		}
	}
}

func TestMembers(t *testing.T) {
	for doc, want := range map[string]string{
		`{}`:    ``,
		` { } `: ``,
		`{"a":1,"b":"x\"}","c":{"d":[1,{"e":"]"}]},"\u0066":null}`: `a=1 b="x\"}" c={"d":[1,{"e":"]"}]} f=null`,
		"{\"a\" :\n [ ] ,\t\"b\":true}":                            `a=[ ] b=true`,
		`{"a\\":"\\"}`:                                             `a\="\\"`,
	} {
		ms, err := members([]byte(doc))
		if err != nil {
			t.Errorf("members(%s): %v", doc, err)
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, string(m.name)+"="+string(m.value))
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("members(%s) = %s, want %s", doc, g, want)
		}
	}
	for _, doc := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1`, `{"a":"x}`, `{"a":{"b":1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":"\"}`} {
		if ms, err := members([]byte(doc)); err == nil {
			t.Errorf("members(%s) = %q, want an error", doc, ms)
		}
	}
}
