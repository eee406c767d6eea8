package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const checkStandards = `apiVersion: scaleguard.io/v1alpha1
kind: ClusterScalingStandard
metadata: {name: default}
spec:
  overrides: {minReplicasFloor: 2, relaxableRules: [requests-required]}
---
apiVersion: scaleguard.io/v1alpha1
kind: ScalingStandard
metadata: {name: payments, namespace: team-a}
spec: {minReplicas: 3}
---
apiVersion: scaleguard.io/v1alpha1
kind: ScalingStandard
metadata: {name: sandbox, namespace: team-b}
spec:
  actions: [{rule: requests-required, action: warn}]
`

func checkManifests(ns string) string {
	return strings.ReplaceAll(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: app:1}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: other, namespace: NS}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: other}
  minReplicas: 1
  maxReplicas: 10
`, "NS", ns)
}

// check --standard judges each namespace with its effective standard, as
// serve does, and names the standard in every finding.
func TestCheckWithStandards(t *testing.T) {
	dir := t.TempDir()
	std := filepath.Join(dir, "standards.yaml")
	app := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(std, []byte(checkStandards), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, []byte(checkManifests("team-a")+"---\n"+checkManifests("team-b")), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"check", "-f", app, "--standard", std}, nil, &stdout, &stderr)
	if code != exitDenied {
		t.Fatalf("exit %d, want %d (team-a refuses the Deployment): %s%s", code, exitDenied, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"raised minReplicas from 1 to 3 (ScalingStandard team-a/payments)",
		"raised minReplicas from 1 to 2 (ScalingStandard team-b/sandbox)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	var denied, warned bool
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "requests-required") {
			denied = denied || (strings.Contains(line, "deny") && strings.Contains(line, "(ScalingStandard team-a/payments)"))
			warned = warned || (strings.Contains(line, "warn") && strings.Contains(line, "(ScalingStandard team-b/sandbox)"))
		}
	}
	if !denied || !warned {
		t.Errorf("requests-required: denied in team-a %v, warned in team-b %v, want both:\n%s", denied, warned, out)
	}

	// A standard out of its bounds is a usage error naming the bound.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(checkStandards, "minReplicas: 3", "minReplicas: 1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check", "-f", app, "--standard", bad}, nil, &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "ScalingStandard team-a/payments: spec.minReplicas: 1 is below overrides.minReplicasFloor 2") {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
}

// explain --standard shows the HPA as its namespace's standard stores it.
func TestExplainWithStandards(t *testing.T) {
	dir := t.TempDir()
	std := filepath.Join(dir, "standards.yaml")
	app := filepath.Join(dir, "hpa.yaml")
	if err := os.WriteFile(std, []byte(checkStandards), 0o644); err != nil {
		t.Fatal(err)
	}
	hpa := checkManifests("team-a")
	hpa = hpa[strings.Index(hpa, "apiVersion: autoscaling/v2"):]
	if err := os.WriteFile(app, []byte(hpa), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "-f", app, "--standard", std, "--width", "0"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"minReplicas: 3", "raised minReplicas from 1 to 3 (ScalingStandard team-a/payments)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("explain does not say %q:\n%s", want, stdout.String())
		}
	}
}
