package v1alpha1

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/scaleguard/scaleguard/policies"
)

// Settings is the one conversion from the API to the settings the rules
// read. A Standard has the settings file's keys, so it is read as that file
// is (policies.ParseSettings): over the built-in standard, with the same
// validation. Errors name the field under spec.
func (s *Standard) Settings() (policies.Settings, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return policies.Settings{}, err
	}
	// An absent list is null in the JSON (the lists have no omitempty, so
	// that an empty one is kept); null is "not given", the default stays.
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return policies.Settings{}, err
	}
	dropNulls(doc)
	if data, err = json.Marshal(doc); err != nil {
		return policies.Settings{}, err
	}
	settings, err := policies.ParseSettings(data)
	if err != nil {
		return policies.Settings{}, specErrors(err)
	}
	return settings, nil
}

func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNulls(v)
		}
	}
}

// specErrors puts ParseSettings' errors under spec: a value that does not
// validate at its field (spec.rules.x.action), anything else with spec
// named before it.
func specErrors(err error) error {
	var invalid *policies.InvalidSettingsError
	if !errors.As(err, &invalid) {
		return fmt.Errorf("spec: %w", err)
	}
	errs := make([]error, len(invalid.Errs))
	for i, e := range invalid.Errs {
		moved := *e
		moved.Field = "spec." + e.Field
		errs[i] = &moved
	}
	return errors.Join(errs...)
}
