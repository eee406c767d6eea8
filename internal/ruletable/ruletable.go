// Package ruletable reads the rule table: cases of objects and the cluster
// they are judged in, each with the findings it must get, that both paths
// through the rules run — `scaleguard check` (manifests.Check, in the
// manifests tests) and the webhook behind a real kube-apiserver (test/e2e).
// One table, so the two cannot drift apart unnoticed.
//
// The table lives in manifests/testdata/rules, one directory per settings
// file (settings.yaml, none for the built-in standard), and in it one case
// per rule outcome:
//
//   - NAME.yaml: YAML documents; the last is the object under test, the
//     ones before it the cluster it is judged in (applied for real before
//     the object is dry-run). Documents carry no namespace: each case runs
//     in the namespace NAME, which is therefore a DNS label.
//   - NAME.findings: the findings the object gets, one a line, as
//     "ACTION [RULE] PATH: MESSAGE"; a line prefixed "check: " is given by
//     `scaleguard check` alone and one prefixed "webhook: " by the webhook
//     alone, each a difference docs/rules.md explains. A mutation is
//     "mutate" in check's words and a kubectl warning from the webhook.
//     Lines starting with "#" are comments; an empty file says the object
//     is compliant.
package ruletable

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// Dir is the table's folder, relative to the repository's root.
const Dir = "manifests/testdata/rules"

// Prefixes of the expected lines that only one path gives.
const (
	checkOnly   = "check: "
	webhookOnly = "webhook: "
)

// Group is the cases judged under one settings file.
type Group struct {
	// Name is the folder's name.
	Name string
	// SettingsFile is the settings file's content, "" for the standard.
	SettingsFile string
	Settings     policies.Settings
	Cases        []Case
}

// Case is one object, the cluster it is judged in and its findings.
type Case struct {
	// Name is the file name without .yaml, and the case's namespace.
	Name string
	// Source is the case file's path.
	Source string
	// Cluster are the documents applied before the object, as YAML with
	// the case's namespace set.
	Cluster []string
	// Object is the document under test, as YAML with the namespace set.
	Object string
	// ObjectKind is the object's kind.
	ObjectKind string
	// Both, CheckOnly and WebhookOnly are the expected findings, in check's
	// words ("mutate [min-replicas] …").
	Both, CheckOnly, WebhookOnly []string
}

// Load reads every group of the table at dir.
func Load(dir string) ([]Group, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var groups []Group
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		g, err := loadGroup(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("%s holds no group of cases", dir)
	}
	return groups, nil
}

func loadGroup(dir string) (Group, error) {
	g := Group{Name: filepath.Base(dir), Settings: policies.Defaults()}
	if data, err := os.ReadFile(filepath.Join(dir, "settings.yaml")); err == nil {
		g.SettingsFile = string(data)
		if g.Settings, err = policies.ParseSettings(data); err != nil {
			return Group{}, fmt.Errorf("%s: %w", filepath.Join(dir, "settings.yaml"), err)
		}
	} else if !os.IsNotExist(err) {
		return Group{}, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return Group{}, err
	}
	for _, f := range files {
		if filepath.Base(f) == "settings.yaml" {
			continue
		}
		c, err := loadCase(f)
		if err != nil {
			return Group{}, err
		}
		g.Cases = append(g.Cases, c)
	}
	return g, nil
}

func loadCase(path string) (Case, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".yaml")
	c := Case{Name: name, Source: path}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return Case{}, fmt.Errorf("%s: the case's name is its namespace and must be a DNS label: %s", path, strings.Join(errs, "; "))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	docs, err := manifests.Parse(path, data)
	if err != nil {
		return Case{}, err
	}
	if len(docs) == 0 {
		return Case{}, fmt.Errorf("%s: no document; the last document is the object under test", path)
	}
	for i, d := range docs {
		y, err := inNamespace(d, name)
		if err != nil {
			return Case{}, err
		}
		if i == len(docs)-1 {
			c.Object, c.ObjectKind = y, d.Kind
		} else {
			c.Cluster = append(c.Cluster, y)
		}
	}
	want := strings.TrimSuffix(path, ".yaml") + ".findings"
	if c.Both, c.CheckOnly, c.WebhookOnly, err = readFindings(want); err != nil {
		return Case{}, err
	}
	return c, nil
}

// inNamespace writes d as YAML with metadata.namespace set to ns.
func inNamespace(d manifests.Document, ns string) (string, error) {
	var obj map[string]any
	if err := json.Unmarshal(d.JSON, &obj); err != nil {
		return "", fmt.Errorf("%s: %w", d.Source, err)
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s: metadata is required", d.Source)
	}
	if got, set := meta["namespace"]; set && got != ns {
		return "", fmt.Errorf("%s: metadata.namespace is set; leave it out, the case runs in namespace %s", d.Source, ns)
	}
	meta["namespace"] = ns
	out, err := yaml.Marshal(obj)
	return string(out), err
}

func readFindings(path string) (both, check, webhook []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (every case has a .findings file, empty when compliant)", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		list := &both
		if rest, ok := strings.CutPrefix(line, checkOnly); ok {
			line, list = rest, &check
		} else if rest, ok := strings.CutPrefix(line, webhookOnly); ok {
			line, list = rest, &webhook
		}
		if _, _, err := ParseFinding(line); err != nil {
			return nil, nil, nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		*list = append(*list, line)
	}
	return both, check, webhook, sc.Err()
}

// ParseFinding splits "ACTION [RULE] PATH: MESSAGE" into its action and
// rule, or says what is wrong with the line.
func ParseFinding(line string) (action policies.Action, rule string, err error) {
	a, rest, _ := strings.Cut(line, " ")
	action = policies.Action(a)
	switch action {
	case policies.Deny, policies.Warn, policies.Mutate:
	default:
		return "", "", fmt.Errorf("%q: a finding starts with deny, warn or mutate", line)
	}
	rule, _, ok := strings.Cut(strings.TrimPrefix(rest, "["), "] ")
	if !strings.HasPrefix(rest, "[") || !ok || !policies.Known(rule) {
		return "", "", fmt.Errorf("%q: the action is followed by [RULE] naming a rule of the catalogue", line)
	}
	return action, rule, nil
}

// Line writes a finding as the table does.
func Line(f policies.Finding) string {
	return string(f.Action) + " " + f.String()
}

// WantCheck is what `scaleguard check` must report, sorted.
func (c Case) WantCheck() []string {
	return sorted(append(slices.Clone(c.Both), c.CheckOnly...))
}

// WantWebhook is what kubectl must show, sorted: the webhook's findings
// with a mutation shown as the warning the mutating webhook gives.
func (c Case) WantWebhook() []string {
	var out []string
	for _, l := range append(slices.Clone(c.Both), c.WebhookOnly...) {
		out = append(out, AsWebhookSays(l))
	}
	return sorted(out)
}

// AsWebhookSays turns a table line into what kubectl shows of it: the
// mutating webhook reports what it changed as a warning.
func AsWebhookSays(line string) string {
	if rest, ok := strings.CutPrefix(line, string(policies.Mutate)+" "); ok {
		return string(policies.Warn) + " " + rest
	}
	return line
}

// Check runs `scaleguard check`'s rules over the case's documents and
// returns the object's findings, sorted.
func (c Case) Check(s *policies.Settings) ([]string, error) {
	all := strings.Join(append(slices.Clone(c.Cluster), c.Object), "---\n")
	docs, err := manifests.Parse(c.Source, []byte(all))
	if err != nil {
		return nil, err
	}
	report, err := manifests.Check(docs, s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range report.Results[len(report.Results)-1].Findings {
		out = append(out, Line(f))
	}
	return sorted(out), nil
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
