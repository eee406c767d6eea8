package policies

import (
	"encoding/json"
	"fmt"
)

// Action is what a rule does when an object breaks it.
type Action string

const (
	// Deny refuses the request.
	Deny Action = "deny"
	// Warn admits the request and returns an admission warning.
	Warn Action = "warn"
	// Mutate changes the object to comply and says so.
	Mutate Action = "mutate"
	// Off disables the rule.
	Off Action = "off"
)

// UnmarshalJSON reads an action, accepting a bare YAML `off`, which YAML 1.1
// (and so sigs.k8s.io/yaml) reads as the boolean false: writing
// `action: off` must turn a rule off, not fail.
func (a *Action) UnmarshalJSON(data []byte) error {
	if string(data) == "false" {
		*a = Off
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("action must be a string (deny, warn, mutate or off), got %s", data)
	}
	*a = Action(s)
	return nil
}
