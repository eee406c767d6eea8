package chart

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// reportCRDFiles are the chart's report CRDs by the chart value that
// installs them, each the file hack/copy-crds.sh copies from its pinned
// module.
var reportCRDFiles = map[string][]string{
	"crds.policyReports": {"wgpolicyk8s.io_clusterpolicyreports.yaml", "wgpolicyk8s.io_policyreports.yaml"},
	"crds.openReports":   {"openreports.io_clusterreports.yaml", "openreports.io_reports.yaml"},
}

// TestReportCRDsArePinned finds the chart's report CRDs stale: each must be
// byte for byte the file of the module version hack/crds/go.mod pins, and
// the folder must hold nothing else. `make generate` copies them again.
func TestReportCRDsArePinned(t *testing.T) {
	dir := filepath.Join(chartDir(t), "files", "report-crds")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for _, files := range reportCRDFiles {
		want = append(want, files...)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("files/report-crds holds %q, want %q", got, want)
	}
	for _, name := range want {
		pinned, err := testbed.CRDFile(name)
		if err != nil {
			if testbed.IsToolsMissing(err) && !testbed.InCI() {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		a, err := os.ReadFile(pinned)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("charts/scaleguard/files/report-crds/%s differs from the pinned module's (%s): run `make generate`", name, pinned)
		}
	}
}

// TestReportCRDsRender renders each report CRD value alone: it installs its
// two CRDs, labelled as the release's and kept on uninstall, and nothing
// else; by default none is installed.
func TestReportCRDsRender(t *testing.T) {
	crdNames := func(manifest string) []string {
		var names []string
		for _, o := range objects(t, manifest) {
			if o["kind"] != "CustomResourceDefinition" {
				continue
			}
			meta := o["metadata"].(map[string]any)
			name := meta["name"].(string)
			if strings.HasSuffix(name, ".scaleguard.io") {
				continue
			}
			labels, _ := meta["labels"].(map[string]any)
			annotations, _ := meta["annotations"].(map[string]any)
			if labels["app.kubernetes.io/instance"] != "sg" || annotations["helm.sh/resource-policy"] != "keep" {
				t.Errorf("CRD %s: labels %v, annotations %v; want the release's labels and helm.sh/resource-policy: keep", name, labels, annotations)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		return names
	}
	if got := crdNames(render(t)); len(got) != 0 {
		t.Errorf("the default render installs report CRDs %q, want none", got)
	}
	wants := map[string][]string{
		"crds.policyReports": {"clusterpolicyreports.wgpolicyk8s.io", "policyreports.wgpolicyk8s.io"},
		"crds.openReports":   {"clusterreports.openreports.io", "reports.openreports.io"},
	}
	for value, want := range wants {
		if got := crdNames(render(t, "--set", value+"=true")); !slices.Equal(got, want) {
			t.Errorf("--set %s=true installs %q, want %q", value, got, want)
		}
	}
}

// TestReportCRDsInstall installs the chart with both report CRDs and
// OpenReports asked for into a real API server: both kinds are served, the
// settings ask for both reports, and the release's ServiceAccount may
// write both.
func TestReportCRDsInstall(t *testing.T) {
	ctx := context.Background()
	bed := testbed.Start(t, testbed.Options{})
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bed.Helm(ctx, "install", "sg", filepath.Join(root, "charts", "scaleguard"),
		"--namespace", releaseNamespace, "--create-namespace",
		"--set", "certManager.enabled=false",
		"--set", "crds.policyReports=true", "--set", "crds.openReports=true",
		"--set", "settings.audit.openReports=true"); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	for _, crd := range []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io", "reports.openreports.io", "clusterreports.openreports.io"} {
		if res, err := bed.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=30s", "crd/"+crd); err != nil {
			t.Errorf("CRD %s not established: %v\n%s", crd, err, res.Stderr)
		}
	}
	res, err := bed.Kubectl(ctx, "api-resources", "--api-group=openreports.io", "-o", "name")
	if err != nil || !strings.Contains(res.Stdout, "reports.openreports.io") {
		t.Errorf("the API server does not serve openreports.io reports: %v\n%s%s", err, res.Stdout, res.Stderr)
	}
	res, err = bed.Kubectl(ctx, "get", "configmap", "sg-scaleguard-settings", "-n", releaseNamespace, "-o", "jsonpath={.data.settings\\.yaml}")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"policyReports: true", "openReports: true"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("the settings ConfigMap lacks %q:\n%s", want, res.Stdout)
		}
	}
	sa := "system:serviceaccount:" + releaseNamespace + ":sg-scaleguard"
	for _, resource := range []string{"reports.openreports.io", "policyreports.wgpolicyk8s.io"} {
		for _, verb := range []string{"list", "create", "patch", "delete"} {
			res, err := bed.Kubectl(ctx, "auth", "can-i", verb, resource, "--all-namespaces", "--as", sa)
			if err != nil || strings.TrimSpace(res.Stdout) != "yes" {
				t.Errorf("%s may not %s %s: %q %v", sa, verb, resource, res.Stdout, err)
			}
		}
	}
}
