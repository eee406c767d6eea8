package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// stdinFinding is a finding of `check -o json -f -` by where it points.
type stdinFinding struct {
	Rule, Kind, Name, File string
	Line, Column           int
}

// checkStdin pipes rendered manifests into `scaleguard check -o json -f -`
// and returns its findings and exit code.
func checkStdin(t *testing.T, rendered []byte) ([]stdinFinding, int) {
	t.Helper()
	out, code := checkAs(t, "json", []string{"-f", "-"}, rendered)
	var got struct{ Findings []stdinFinding }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return got.Findings, code
}

// lineOf is the 1-based line of the first line of text that starts (after
// its indentation) with prefix, after the line holding after: a second
// reading of where a field is, to say what went wrong when a figure
// differs.
func lineOf(text []byte, after, prefix string) int {
	seen := false
	for i, l := range strings.Split(string(text), "\n") {
		seen = seen || strings.Contains(l, after)
		if seen && strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return i + 1
		}
	}
	return 0
}

// TestHelmTemplateIntoCheck: `helm template web testdata/chart | scaleguard
// check -f -` with the test bed's helm. The chart's Deployment, the second
// document after the Service (helm orders by kind), requests no memory;
// helm opens each document with "---" and a "# Source:" comment, and the
// finding's line is stdin's: 1 ---, 2 # Source, 3-10 the Service, 11 ---,
// 12 # Source, 13 apiVersion … 28 `requests:` at column 11.
func TestHelmTemplateIntoCheck(t *testing.T) {
	dir := testbed.Tools(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "helm"), "template", "web", "testdata/chart")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+home+"/cache",
		"HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	rendered, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v: %s", err, stderr.String())
	}
	if !bytes.HasPrefix(rendered, []byte("---\n# Source: shop/templates/service.yaml\n")) {
		t.Fatalf("helm's output does not open as this test reads it:\n%s", rendered)
	}
	got, code := checkStdin(t, rendered)
	want := []stdinFinding{{Rule: policies.RequestsRequired, Kind: "Deployment", Name: "web-cart", File: "-", Line: 28, Column: 11}}
	if code != exitDenied || len(got) != 1 || got[0] != want[0] {
		t.Errorf("exit %d, findings %+v; want exit %d and %+v (requests: is on line %d of helm's output)\n%s",
			code, got, exitDenied, want, lineOf(rendered, "kind: Deployment", "requests:"), rendered)
	}
}

// TestKustomizeBuildIntoCheck: `kustomize build testdata/kustomize |
// scaleguard check -f -`, built with the kustomize library go.mod pins
// (krusty, as the kustomize binary builds). The overlay prefixes the names
// and sets the namespace; kustomize writes the Service first (lines 1-10,
// no "---" before it), "---" on line 11, then the Deployment with its
// fields sorted (a container's image before its name), whose `requests:`
// is on line 30 at column 11.
func TestKustomizeBuildIntoCheck(t *testing.T) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "testdata/kustomize")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	rendered, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	got, code := checkStdin(t, rendered)
	want := []stdinFinding{{Rule: policies.RequestsRequired, Kind: "Deployment", Name: "prod-cart", File: "-", Line: 30, Column: 11}}
	if code != exitDenied || len(got) != 1 || got[0] != want[0] {
		t.Errorf("exit %d, findings %+v; want exit %d and %+v (requests: is on line %d of kustomize's output)\n%s",
			code, got, exitDenied, want, lineOf(rendered, "kind: Deployment", "requests:"), rendered)
	}
	// Stdin's name, "-", is a URI reference SARIF accepts.
	log, _ := checkAs(t, "sarif", []string{"-f", "-"}, rendered)
	validateSARIF(t, sarifSchema(t), "kustomize build | check -o sarif", log)
	if !bytes.Contains(log, []byte(`"uri": "-"`)) {
		t.Errorf("the SARIF log does not name stdin -:\n%s", log)
	}
}
