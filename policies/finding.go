package policies

import (
	"fmt"
	"sort"
)

// Finding is one thing a rule has to say about one object: which rule, what
// it does about it, where in the object, and what to write to fix it.
type Finding struct {
	Rule    string `json:"rule"`
	Action  Action `json:"action"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String is the short form used for kubectl warnings and denial messages.
func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s: %s", f.Rule, f.Path, f.Message)
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
		return fs[i].Path < fs[j].Path
	})
}
