package chart

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	kjson "sigs.k8s.io/json"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
)

// The default ClusterScalingStandard the chart renders is the standard of
// its settings file, with the overrides of the values; the CRDs are the
// generated ones, kept on uninstall.
func TestDefaultStandardIsTheSettings(t *testing.T) {
	objs := objects(t, render(t, "--set", "standard.enabled=true", "--set", "standard.overrides.minReplicasFloor=2",
		"--set", "standard.overrides.relaxableRules={requests-required}", "--set", "settings.mode=warn"))
	raw, err := json.Marshal(find(t, objs, "ClusterScalingStandard"))
	if err != nil {
		t.Fatal(err)
	}
	var css v1alpha1.ClusterScalingStandard
	if strict, err := kjson.UnmarshalStrict(raw, &css, kjson.DisallowUnknownFields); err != nil || len(strict) > 0 {
		t.Fatalf("the rendered standard is not a ClusterScalingStandard: %v %v", err, strict)
	}
	got, err := css.Spec.Standard.Settings()
	if err != nil {
		t.Fatalf("the rendered standard is refused by scaleguard: %v", err)
	}
	if want := renderedSettings(t, objs); !equality.Semantic.DeepEqual(&got, want) {
		t.Errorf("the default standard differs from the settings file:\n got %+v\nwant %+v", got, want)
	}
	if css.Name != v1alpha1.DefaultName || css.Spec.Overrides == nil || *css.Spec.Overrides.MinReplicasFloor != 2 ||
		len(css.Spec.Overrides.RelaxableRules) != 1 {
		t.Errorf("standard %s overrides %+v", css.Name, css.Spec.Overrides)
	}
	crds := 0
	for _, o := range objs {
		if o["kind"] == "CustomResourceDefinition" {
			crds++
			ann, _ := o["metadata"].(map[string]any)["annotations"].(map[string]any)
			if ann["helm.sh/resource-policy"] != "keep" {
				t.Errorf("CRD %v is not kept on uninstall", o["metadata"].(map[string]any)["name"])
			}
		}
	}
	if crds != 2 {
		t.Errorf("%d CRDs rendered, want 2", crds)
	}
	for _, o := range objects(t, render(t, "--set", "crds.enabled=false")) {
		if o["kind"] == "CustomResourceDefinition" || o["kind"] == "ClusterScalingStandard" {
			t.Errorf("%s rendered with crds.enabled=false and no standard", o["kind"])
		}
	}
}
