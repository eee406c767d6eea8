package v1alpha1

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// specErrors words ParseSettings' errors ("settings: rules.x: …") for an
// object ("spec.rules.x: …").
func specErrors(err error) error {
	var errs []error
	for line := range strings.Lines(err.Error()) {
		line = strings.TrimRight(line, "\n")
		errs = append(errs, fmt.Errorf("spec.%s", strings.TrimPrefix(line, "settings: ")))
	}
	return errors.Join(errs...)
}
