package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "# nothing to say\n---\n"+mustRead(t, "../../examples/01-web-compliant.yaml"))
	bad := write("bad.yaml", mustRead(t, "../../examples/02-api-missing-requests.yaml"))
	broken := write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: apps/v1\nkind: Deployment\nspec: [\n")
	noKind := write("nokind.yaml", "metadata: {name: x}\n")
	badSettings := write("settings.yaml", "rules:\n  min-replicas: {minimun: 3}\n")

	tests := map[string]cliCase{
		"compliant file":          {args: []string{"-f", good}, code: 0, stdout: []string{"2 objects checked: 0 denied"}},
		"denied file":             {args: []string{"-f", bad}, code: 1, stdout: []string{"deny", "[requests-required] spec.template.spec.containers[0].resources.requests"}},
		"directory":               {args: []string{"-f", "../../examples"}, code: 1, stdout: []string{"16 objects checked: 4 denied"}},
		"stdin":                   {args: []string{"-f", "-"}, stdin: mustRead(t, "../../examples/03-worker-hpa-v1.yaml"), code: 1, stdout: []string{"-:3:1", "hpa-api-version"}},
		"parse error names doc":   {args: []string{"-f", broken}, code: 2, stderr: []string{"broken.yaml#2"}},
		"missing kind":            {args: []string{"-f", noKind}, code: 2, stderr: []string{"nokind.yaml#1: apiVersion and kind are required"}},
		"missing file":            {args: []string{"-f", filepath.Join(dir, "nope.yaml")}, code: 2, stderr: []string{"nope.yaml"}},
		"no -f":                   {args: nil, code: 2, stderr: []string{"usage: scaleguard check"}},
		"files as arguments":      {args: []string{"-o", "text", good, bad}, code: 1, stdout: []string{"bad.yaml:24:11", "3 objects checked: 2 denied"}},
		"bad output":              {args: []string{"-f", good, "-o", "xml"}, code: 2},
		"bad settings name key":   {args: []string{"-f", good, "--config", badSettings}, code: 2, stderr: []string{"rules.min-replicas.minimun"}},
		"fix sends findings away": {args: []string{"-f", "../../examples/04-checkout-hpa-minimal.yaml", "--fix"}, code: 0, stdout: []string{"minReplicas: 2", "name: memory"}, stderr: []string{"3 mutations"}},
	}
	runCases(t, "check", tests)
}

func TestCheckJSONFormat(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "-o", "json", "-f", "../../examples/02-api-missing-requests.yaml"}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out map[string][]map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out["findings"]) != 2 {
		t.Fatalf("want exactly {findings: [2 items]}, got %s", stdout.String())
	}
	keys := []string{"action", "column", "file", "kind", "line", "message", "name", "namespace", "path", "rule"}
	for _, f := range out["findings"] {
		if len(f) != len(keys) {
			t.Errorf("finding has keys %v, want exactly %v", f, keys)
		}
		for _, k := range keys {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
	}
}

// TestCheckFixIsAFixedPoint: what --fix prints, checked again, has nothing
// left to mutate and is no longer refused for its API version.
func TestCheckFixIsAFixedPoint(t *testing.T) {
	var fixed, stderr bytes.Buffer
	if code := run([]string{"check", "--fix", "-f", "../../examples"}, nil, &fixed, &stderr); code == exitUsage || fixed.Len() == 0 {
		t.Fatalf("check --fix: exit %d, %d bytes of manifests: %s", code, fixed.Len(), stderr.String())
	}
	var again, stderr2 bytes.Buffer
	if code := run([]string{"check", "-o", "json", "-f", "-"}, bytes.NewReader(fixed.Bytes()), &again, &stderr2); code == exitUsage {
		t.Fatalf("checking the fixed output: exit %d: %s", code, stderr2.String())
	}
	var out struct {
		Findings []struct{ Rule, Action string }
	}
	if err := json.Unmarshal(again.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s %s", err, again.String(), stderr2.String())
	}
	for _, f := range out.Findings {
		if f.Action == "mutate" || f.Rule == "hpa-api-version" {
			t.Errorf("fixed output still has %s %s", f.Action, f.Rule)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
