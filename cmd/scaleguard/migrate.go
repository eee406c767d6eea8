package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// runMigrateSettings prints the ClusterScalingStandard equivalent to a
// settings file: its keys, as written, under spec.
func runMigrateSettings(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate-settings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "settings file to migrate (required)")
	name := fs.String("name", v1alpha1.DefaultName, "name of the ClusterScalingStandard; only default applies to every namespace")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard migrate-settings --config settings.yaml [--name default] > standard.yaml")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *configPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	fail := usageError(stderr, "migrate-settings")
	out, err := migrateSettings(*configPath, *name)
	if err != nil {
		return fail(err)
	}
	if _, err := stdout.Write(out); err != nil {
		return fail(err)
	}
	return exitOK
}

func migrateSettings(path, name string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := policies.ParseSettings(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	spec := map[string]any{}
	if len(js) > 0 && string(js) != "null" {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &spec); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	// A bare `action: off` is YAML 1.1's false, which the settings file
	// reads as off (policies.Action) and the CRD, a string, would refuse.
	if rules, ok := spec["rules"].(map[string]any); ok {
		for _, r := range rules {
			if r, ok := r.(map[string]any); ok && r["action"] == false {
				r["action"] = string(policies.Off)
			}
		}
	}
	// Every key of the file is a field of the API; a test keeps it so.
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var std v1alpha1.Standard
	if strict, err := kjson.UnmarshalStrict(specJSON, &std, kjson.DisallowUnknownFields); err != nil || len(strict) > 0 {
		return nil, fmt.Errorf("%s: not expressible as a ClusterScalingStandard: %w", path, errors.Join(append(strict, err)...))
	}
	if name != v1alpha1.DefaultName {
		return nil, fmt.Errorf("--name %s: a standard other than default needs a spec.namespaceSelector; migrate to default, then copy it", name)
	}
	obj := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "ClusterScalingStandard",
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("# The standard of %s as a ClusterScalingStandard (scaleguard migrate-settings).\n"+
		"# Once applied it wins over the settings file. Add spec.overrides to let\n"+
		"# namespaces' ScalingStandards change minReplicas, actions or the behavior.\n", path)
	return append([]byte(header), out...), nil
}
