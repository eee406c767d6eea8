package patch

import (
	"encoding/json"
	"testing"
)

type spec struct {
	Min      *int              `json:"min,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Behavior *struct {
		Window int `json:"window"`
	} `json:"behavior,omitempty"`
}

type object struct {
	Spec spec `json:"spec"`
}

func TestForDocument(t *testing.T) {
	two := 2
	tests := map[string]struct {
		doc    string
		before object
		after  object
		want   string
		result string
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
		"unknown fields beside the change survive": {
			doc: `{"spec":{"future":{"a":1}},"other":"x"}`, before: object{}, after: object{spec{Min: &two}},
			want:   `[{"op":"add","path":"/spec/min","value":2}]`,
			result: `{"other":"x","spec":{"future":{"a":1},"min":2}}`,
		},
		"keys with / and ~ are escaped": {
			doc: `{"spec":{"labels":{"x":"y"}}}`, before: object{spec{Labels: map[string]string{"x": "y"}}},
			after:  object{spec{Labels: map[string]string{"x": "y", "a/b~c": "v"}}},
			want:   `[{"op":"add","path":"/spec/labels/a~1b~0c","value":"v"}]`,
			result: `{"spec":{"labels":{"a/b~c":"v","x":"y"}}}`,
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
