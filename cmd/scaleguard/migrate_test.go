package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// The migrated object is the same standard as the file.
func TestMigrateSettings(t *testing.T) {
	content := "mode: warn\nexemptNamespaces: [kube-system, legacy]\nrules:\n  min-replicas: {minimum: 3}\n  requests-required: {resources: [cpu]}\n  cost-ceiling: {action: warn, monthlyBudget: 500}\n  target-exists: {action: off}\n"
	path := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"migrate-settings", "--config", path}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `action: "off"`) {
		t.Errorf("a bare off must be written as a string:\n%s", stdout.String())
	}
	var obj v1alpha1.ClusterScalingStandard
	if err := yaml.UnmarshalStrict(stdout.Bytes(), &obj); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if obj.Kind != "ClusterScalingStandard" || obj.APIVersion != "scaleguard.io/v1alpha1" || obj.Name != "default" {
		t.Errorf("object %s %s %s", obj.APIVersion, obj.Kind, obj.Name)
	}
	got, err := obj.Spec.Standard.Settings()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := policies.ParseSettings([]byte(content))
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("migrated standard differs from the file:\n got %+v\nwant %+v", got, want)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules: {min-replicas: {minimun: 3}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"migrate-settings", "--config", bad}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "minimun") {
		t.Errorf("a bad file: exit %d, %s", code, stderr.String())
	}
}
