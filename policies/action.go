package policies

import "fmt"

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

// ParseAction reads an action name as written in the settings file.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Deny, Warn, Mutate, Off:
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q: use deny, warn, mutate or off", s)
}
