// Command chartschema writes the part of a chart's values.schema.json that
// the rule catalogue decides: settings.rules, one property per rule of
// policies.Catalogue in its order, each with the actions the rule accepts
// as the enum of its action and a description naming its default and its
// section of docs/rules.md. A rule's other settings (minimum, resources,
// behavior, …) are hand-written in the file and carried over as they are;
// it fails when they are no longer the keys policies.RuleSettings has for
// the rule. Everything outside settings.rules is left byte for byte, so
// hand edits elsewhere in the file never conflict with it. With -check it
// only reports whether the file is current. `make generate` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scaleguard/scaleguard/policies"
)

// rulesPath is where settings.rules sits in the schema.
var rulesPath = []string{"properties", "settings", "properties", "rules"}

// relaxablePath is where standard.overrides.relaxableRules sits: rule IDs,
// which the ClusterScalingStandard's CRD checks too (api/v1alpha1.RuleID).
var relaxablePath = []string{"properties", "standard", "properties", "overrides", "properties", "relaxableRules"}

func main() {
	chart := flag.String("chart", "charts/scaleguard", "chart folder")
	check := flag.Bool("check", false, "fail if values.schema.json is stale instead of writing it")
	flag.Parse()
	if err := run(*chart, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chartschema:", err)
		os.Exit(1)
	}
}

func run(chart string, check bool) error {
	path := filepath.Join(chart, "values.schema.json")
	schema, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, err := Generate(schema)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(updated, schema) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: its settings.rules or standard.overrides.relaxableRules no longer follows the rule catalogue (policies/rules.go); run `make generate`", path)
	}
	return os.WriteFile(path, updated, 0o644)
}

// Generate returns schema with settings.rules and
// standard.overrides.relaxableRules written from the catalogue, indented as
// the surrounding file (two spaces a level).
func Generate(schema []byte) ([]byte, error) {
	schema, err := replaceValue(schema, rulesPath, rulesSchema)
	if err != nil {
		return nil, err
	}
	return replaceValue(schema, relaxablePath, relaxableSchema)
}

// replaceValue replaces the value at path with what generate makes of it.
func replaceValue(schema []byte, path []string, generate func(json.RawMessage) (json.RawMessage, error)) ([]byte, error) {
	start, end, err := valueSpan(schema, path)
	if err != nil {
		return nil, err
	}
	value, err := generate(schema[start:end])
	if err != nil {
		return nil, err
	}
	// The value's first line is the key's; the lines after it are indented
	// from the key's indentation.
	line := schema[bytes.LastIndexByte(schema[:start], '\n')+1 : start]
	indent := line[:len(line)-len(bytes.TrimLeft(line, " "))]
	var out bytes.Buffer
	out.Write(schema[:start])
	if err := json.Indent(&out, value, string(indent), "  "); err != nil {
		return nil, err
	}
	out.Write(schema[end:])
	return out.Bytes(), nil
}

// valueSpan is where the value at path (object keys from the top) begins
// and ends in doc.
func valueSpan(doc []byte, path []string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	for i, key := range path {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return 0, 0, fmt.Errorf("%s is not an object (%v)", strings.Join(path[:i], "."), err)
		}
		found := false
		for !found && dec.More() {
			k, err := dec.Token()
			if err != nil {
				return 0, 0, err
			}
			if found = k == key; !found {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return 0, 0, err
				}
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("no %s", strings.Join(path[:i+1], "."))
		}
	}
	// The decoder stands after the last key; its value follows the colon.
	afterKey := int(dec.InputOffset())
	var value json.RawMessage
	if err := dec.Decode(&value); err != nil {
		return 0, 0, err
	}
	end = int(dec.InputOffset())
	start = end - len(value)
	if gap := bytes.TrimSpace(doc[afterKey:start]); string(gap) != ":" || !bytes.Equal(doc[start:end], value) {
		return 0, 0, fmt.Errorf("cannot locate %s", strings.Join(path, "."))
	}
	return start, end, nil
}

// member is one key of a JSON object, in the order written.
type member struct {
	key   string
	value json.RawMessage
}

// members reads an object's keys in their order.
func members(obj json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %.40s", obj)
	}
	var ms []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{k.(string), v})
	}
	return ms, nil
}

// lookup is the value of key among ms.
func lookup(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// onlyKeys fails when an object has a key the generator does not write,
// which regenerating would drop.
func onlyKeys(where string, ms []member, allowed ...string) error {
	for _, m := range ms {
		if !slices.Contains(allowed, m.key) {
			return fmt.Errorf("%s has %q, which chartschema does not write: move it into the generator or out of %s", where, m.key, where)
		}
	}
	return nil
}

// rulesSchema is the compact JSON of settings.rules: the rules of the
// catalogue, each with its generated action and its hand-written settings
// taken from current.
func rulesSchema(current json.RawMessage) (json.RawMessage, error) {
	top, err := members(current)
	if err != nil {
		return nil, fmt.Errorf("settings.rules: %w", err)
	}
	if err := onlyKeys("settings.rules", top, "type", "additionalProperties", "properties"); err != nil {
		return nil, err
	}
	var old []member
	if props, ok := lookup(top, "properties"); ok {
		if old, err = members(props); err != nil {
			return nil, fmt.Errorf("settings.rules.properties: %w", err)
		}
	}
	keys, err := settingKeys()
	if err != nil {
		return nil, err
	}
	var rules []member
	var errs []error
	for _, r := range policies.Catalogue() {
		where := "settings.rules." + r.ID
		carried, err := handWritten(where, old, r.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := sameKeys(where, carried, keys[r.ID]); err != nil {
			errs = append(errs, err)
			continue
		}
		action := object(
			member{"type", str("string")},
			member{"enum", enum(r.Actions)})
		rules = append(rules, member{r.ID, object(
			member{"description", str(fmt.Sprintf("%s; default action %s (docs/rules.md#%s).", r.Summary, r.Default(), r.Anchor()))},
			member{"type", str("object")},
			member{"additionalProperties", jsonFalse},
			member{"properties", object(append([]member{{"action", action}}, carried...)...)})})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return object(
		member{"type", str("object")},
		member{"additionalProperties", jsonFalse},
		member{"properties", object(rules...)}), nil
}

// relaxableSchema is the compact JSON of standard.overrides.relaxableRules:
// a list of the catalogue's rule IDs, so that Helm refuses a misspelt one
// before the API server would.
func relaxableSchema(current json.RawMessage) (json.RawMessage, error) {
	top, err := members(current)
	if err != nil {
		return nil, fmt.Errorf("standard.overrides.relaxableRules: %w", err)
	}
	if err := onlyKeys("standard.overrides.relaxableRules", top, "type", "items"); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range policies.Catalogue() {
		ids = append(ids, r.ID)
	}
	return object(
		member{"type", str("array")},
		member{"items", object(
			member{"type", str("string")},
			member{"enum", enum(ids)})}), nil
}

// handWritten is the schema of rule id's settings other than its action,
// as the file has them; none for a rule the file does not have yet.
func handWritten(where string, old []member, id string) ([]member, error) {
	current, ok := lookup(old, id)
	if !ok {
		return nil, nil
	}
	rule, err := members(current)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := onlyKeys(where, rule, "description", "type", "additionalProperties", "properties"); err != nil {
		return nil, err
	}
	props, ok := lookup(rule, "properties")
	if !ok {
		return nil, nil
	}
	settings, err := members(props)
	if err != nil {
		return nil, fmt.Errorf("%s.properties: %w", where, err)
	}
	return slices.DeleteFunc(settings, func(m member) bool { return m.key == "action" }), nil
}

// sameKeys fails when the schema's settings of a rule are not the keys
// the rule has in the settings file.
func sameKeys(where string, carried []member, want []string) error {
	var have []string
	for _, m := range carried {
		have = append(have, m.key)
	}
	var errs []error
	for _, k := range want {
		if !slices.Contains(have, k) {
			errs = append(errs, fmt.Errorf("%s lacks %s, a setting of the rule (policies.RuleSettings): write its schema by hand under %s.properties", where, k, where))
		}
	}
	for _, k := range have {
		if !slices.Contains(want, k) {
			errs = append(errs, fmt.Errorf("%s has %s, which is no setting of the rule (policies.RuleSettings): remove it", where, k))
		}
	}
	return errors.Join(errs...)
}

// settingKeys are each rule's keys in the settings file other than action,
// as the built-in standard written out has them.
func settingKeys() (map[string][]string, error) {
	d := policies.Defaults()
	data, err := json.Marshal(d.Rules)
	if err != nil {
		return nil, err
	}
	var rules map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &rules); err != nil {
		return nil, err
	}
	keys := map[string][]string{}
	for id, settings := range rules {
		delete(settings, "action")
		keys[id] = slices.Sorted(maps.Keys(settings))
	}
	return keys, nil
}

// object writes ms as a JSON object in their order.
func object(ms ...member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(str(m.key))
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// str is s as a JSON string, with <, > and & as written: the file is read
// by helm and editors, never embedded in HTML.
func str(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes, and a bytes.Buffer takes every write
	return bytes.TrimRight(b.Bytes(), "\n")
}

// enum is the JSON array of values (a rule's actions, the rule IDs), in the
// catalogue's order.
func enum[S ~string](values []S) json.RawMessage {
	items := make([][]byte, len(values))
	for i, v := range values {
		items[i] = str(string(v))
	}
	return append(append([]byte{'['}, bytes.Join(items, []byte{','})...), ']')
}

var jsonFalse = json.RawMessage("false")
