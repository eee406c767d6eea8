package policies

import (
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaleguard/scaleguard/internal/fieldpath"
)

// Finding is one thing a rule has to say about one object: which rule, what
// it does about it, where in the object, and what to write to fix it.
type Finding struct {
	Rule   string
	Action Action
	// Path is the field the finding is about, in the object judged; never
	// nil (a finding about no one field points at the object's metadata).
	Path    *field.Path
	Message string
	// Unchecked marks a warning that its rule needed the cluster and could
	// not look it up (notChecked): it says nothing about the object.
	Unchecked bool
}

// String is the short form used for kubectl warnings and denial messages.
func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s: %s", f.Rule, f.Path, f.Message)
}

// jsonFinding is a Finding as JSON: its path is the text field.Path writes.
// Unchecked is the program's, not the format's.
type jsonFinding struct {
	Rule    string `json:"rule"`
	Action  Action `json:"action"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// MarshalJSON writes {"rule","action","path","message"}, the path as
// "spec.metrics[0]".
func (f Finding) MarshalJSON() ([]byte, error) {
	j := jsonFinding{Rule: f.Rule, Action: f.Action, Message: f.Message}
	if f.Path != nil {
		j.Path = f.Path.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Finding) UnmarshalJSON(data []byte) error {
	var j jsonFinding
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*f = Finding{Rule: j.Rule, Action: j.Action, Path: fieldpath.Parse(j.Path), Message: j.Message}
	return nil
}

// Findings is the ordered result of evaluating the rules on one object.
type Findings []Finding

// With returns only the findings with the given action.
func (fs Findings) With(a Action) Findings {
	var out Findings
	for _, f := range fs {
		if f.Action == a {
			out = append(out, f)
		}
	}
	return out
}

// Denied reports whether any finding refuses the object.
func (fs Findings) Denied() bool {
	for _, f := range fs {
		if f.Action == Deny {
			return true
		}
	}
	return false
}

// sortFindings orders findings by rule catalogue order, then path, so that
// output is stable across runs and between the webhook and `check`.
func sortFindings(fs Findings) {
	sort.SliceStable(fs, func(i, j int) bool {
		ri, rj := ruleOrder(fs[i].Rule), ruleOrder(fs[j].Rule)
		if ri != rj {
			return ri < rj
		}
		return fs[i].Path.String() < fs[j].Path.String()
	})
}
