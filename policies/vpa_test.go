package policies

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// vpaFrom decodes a VPA written as JSON, the form every caller has.
func vpaFrom(t *testing.T, js string) *VPA {
	t.Helper()
	v, err := DecodeVPA([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// vpaJSON is a VPA in namespace shop targeting Deployment web, with spec
// fields added.
func vpaJSON(spec string) string {
	if spec != "" {
		spec = "," + spec
	}
	return `{"apiVersion":"autoscaling.k8s.io/v1","kind":"VerticalPodAutoscaler","metadata":{"name":"web-vpa","namespace":"shop"},
		"spec":{"targetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"}` + spec + `}}`
}

// TestVPAControls holds the cases read from the VPA's own code at v1.8.1:
// GetUpdateMode (default Recreate) and the updater's RunOnce (Off and
// Initial never touch running pods), GetContainerResourcePolicy and its
// TestGetContainerResourcePolicy (own policy, else "*", else none),
// AggregateContainerState.UpdateFromPolicy (controlledResources default to
// cpu and memory, mode Off excludes the container).
func TestVPAControls(t *testing.T) {
	tests := map[string]struct {
		spec      string
		container string
		resource  corev1.ResourceName
		want      bool
	}{
		"no update policy is Recreate, cpu":   {"", "app", corev1.ResourceCPU, true},
		"no update policy is Recreate, mem":   {"", "app", corev1.ResourceMemory, true},
		"empty update mode is Recreate":       {`"updatePolicy":{"updateMode":""}`, "app", corev1.ResourceCPU, true},
		"Auto":                                {`"updatePolicy":{"updateMode":"Auto"}`, "app", corev1.ResourceCPU, true},
		"Recreate":                            {`"updatePolicy":{"updateMode":"Recreate"}`, "app", corev1.ResourceCPU, true},
		"InPlaceOrRecreate":                   {`"updatePolicy":{"updateMode":"InPlaceOrRecreate"}`, "app", corev1.ResourceCPU, true},
		"InPlace":                             {`"updatePolicy":{"updateMode":"InPlace"}`, "app", corev1.ResourceCPU, true},
		"Off never changes a pod":             {`"updatePolicy":{"updateMode":"Off"}`, "app", corev1.ResourceCPU, false},
		"Initial never changes a running pod": {`"updatePolicy":{"updateMode":"Initial"}`, "app", corev1.ResourceCPU, false},
		"other resources are not controlled":  {"", "app", "ephemeral-storage", false},
		"controlledResources of the default policy": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":["memory"]}]}`, "app", corev1.ResourceCPU, false},
		"controlledResources of the default policy, memory": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":["memory"]}]}`, "app", corev1.ResourceMemory, true},
		"empty controlledResources controls nothing": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":[]}]}`, "app", corev1.ResourceCPU, false},
		"mode Off excludes the container": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"app","mode":"Off"}]}`, "app", corev1.ResourceCPU, false},
		"mode Off of another container": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"sidecar","mode":"Off"}]}`, "app", corev1.ResourceCPU, true},
		"own policy before the default, in any order": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"*","mode":"Off"},{"containerName":"app","controlledResources":["cpu"]}]}`, "app", corev1.ResourceCPU, true},
		"the default policy for a container without its own": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"app","controlledResources":["cpu"]},{"containerName":"*","mode":"Off"}]}`, "other", corev1.ResourceCPU, false},
		"a policy without mode is Auto": {
			`"resourcePolicy":{"containerPolicies":[{"containerName":"app","controlledValues":"RequestsOnly"}]}`, "app", corev1.ResourceCPU, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := vpaFrom(t, vpaJSON(tc.spec)).Controls(tc.container, tc.resource); got != tc.want {
				t.Errorf("Controls(%q, %s) = %v, want %v", tc.container, tc.resource, got, tc.want)
			}
		})
	}
}

func TestVPAControlsAny(t *testing.T) {
	onlyApp := `"resourcePolicy":{"containerPolicies":[{"containerName":"*","mode":"Off"},{"containerName":"app","controlledResources":["cpu"]}]}`
	tests := map[string]struct {
		spec       string
		containers []string
		resource   corev1.ResourceName
		want       bool
	}{
		"default policy, containers unknown":        {"", nil, corev1.ResourceCPU, true},
		"default policy, no containers":             {"", []string{}, corev1.ResourceCPU, false},
		"one named container controls cpu":          {onlyApp, []string{"app", "proxy"}, corev1.ResourceCPU, true},
		"named container absent from the template":  {onlyApp, []string{"proxy"}, corev1.ResourceCPU, false},
		"named container, containers unknown":       {onlyApp, nil, corev1.ResourceCPU, true},
		"named container does not control memory":   {onlyApp, nil, corev1.ResourceMemory, false},
		"every container has its own policy, known": {`"resourcePolicy":{"containerPolicies":[{"containerName":"app","mode":"Off"}]}`, []string{"app"}, corev1.ResourceCPU, false},
		"Off mode controls nothing":                 {`"updatePolicy":{"updateMode":"Off"}`, nil, corev1.ResourceCPU, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := vpaFrom(t, vpaJSON(tc.spec)).ControlsAny(tc.resource, tc.containers); got != tc.want {
				t.Errorf("ControlsAny(%s, %v) = %v, want %v", tc.resource, tc.containers, got, tc.want)
			}
		})
	}
}

func TestDecodeVPABadInput(t *testing.T) {
	for name, js := range map[string]string{
		"not JSON":                `{`,
		"updateMode not string":   vpaJSON(`"updatePolicy":{"updateMode":3}`),
		"targetRef not an object": `{"spec":{"targetRef":"web"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeVPA([]byte(js)); err == nil || !strings.Contains(err.Error(), KindVPA) {
				t.Errorf("want an error naming %s, got %v", KindVPA, err)
			}
		})
	}
}

func containerMetric(container string, r corev1.ResourceName) autoscalingv2.MetricSpec {
	m := utilizationMetric(r, 70)
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: r, Container: container, Target: m.Resource.Target}}
}

func TestHPAVPAConflict(t *testing.T) {
	cpu := utilizationMetric(corev1.ResourceCPU, 70)
	mem := utilizationMetric(corev1.ResourceMemory, 80)
	tests := map[string]struct {
		metrics []autoscalingv2.MetricSpec
		vpa     string
		// want are the paths of the findings on the HPA.
		want []string
	}{
		"cpu and memory against a default VPA": {[]autoscalingv2.MetricSpec{cpu, mem}, "", []string{"spec.metrics[0]", "spec.metrics[1]"}},
		"no metrics is cpu 80 %":               {nil, "", []string{"spec.metrics[0]"}},
		"VPA in Off mode":                      {[]autoscalingv2.MetricSpec{cpu}, `"updatePolicy":{"updateMode":"Off"}`, nil},
		"VPA in Initial mode":                  {[]autoscalingv2.MetricSpec{cpu}, `"updatePolicy":{"updateMode":"Initial"}`, nil},
		"VPA on memory only":                   {[]autoscalingv2.MetricSpec{cpu, mem}, `"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":["memory"]}]}`, []string{"spec.metrics[1]"}},
		"container metric on the VPA's container": {[]autoscalingv2.MetricSpec{containerMetric("app", corev1.ResourceCPU)},
			`"resourcePolicy":{"containerPolicies":[{"containerName":"*","mode":"Off"},{"containerName":"app"}]}`, []string{"spec.metrics[0]"}},
		"container metric on a container the VPA leaves alone": {[]autoscalingv2.MetricSpec{containerMetric("proxy", corev1.ResourceCPU)},
			`"resourcePolicy":{"containerPolicies":[{"containerName":"proxy","mode":"Off"}]}`, nil},
		"AverageValue targets too": {[]autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType}}}}, "", []string{"spec.metrics[0]"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			h := hpa(withMetrics(tc.metrics...))
			c := clusterWith([]Workload{web()})
			v := vpaFrom(t, vpaJSON(tc.vpa))
			c.AddVPA(v)
			got := findingsOf(EvaluateHPA(HPAReview{Object: h, Final: true, Cluster: c}, &s).Findings, HPAVPAConflict)
			assertConflictPaths(t, got, tc.want)
			for _, f := range got {
				for _, word := range []string{`"web-vpa"`, "Deployment \"web\"", "controlledResources"} {
					if !strings.Contains(f.Message, word) {
						t.Errorf("message %q does not name %s", f.Message, word)
					}
				}
			}

			// From the VPA's side, against the stored HPA.
			c = clusterWith([]Workload{web()}, apiServerDefaulted(h))
			fromVPA := EvaluateVPA(VPAReview{Object: v, Cluster: c}, &s)
			if (len(fromVPA) > 0) != (len(tc.want) > 0) || len(fromVPA) != len(tc.want) {
				t.Errorf("from the VPA: %v, want %d findings", fromVPA, len(tc.want))
			}
			for _, f := range fromVPA {
				if f.Action != Deny || f.Path.String() != "spec.resourcePolicy" || !strings.Contains(f.Message, `HPA "web"`) {
					t.Errorf("from the VPA: %v", f)
				}
			}
		})
	}
}

func assertConflictPaths(t *testing.T, got Findings, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %v, want findings at %v", got, want)
	}
	for i, f := range got {
		if f.Path.String() != want[i] || f.Action != Deny {
			t.Errorf("finding %d: %v, want a denial at %s", i, f, want[i])
		}
	}
}

func TestHPAVPAConflictSettings(t *testing.T) {
	h := hpa()
	c := clusterWith([]Workload{web()}, apiServerDefaulted(h))
	c.AddVPA(vpaFrom(t, vpaJSON("")))
	v := vpaFrom(t, vpaJSON(""))
	tests := map[string]struct {
		edit func(*Settings, *VPA)
		want Action // "" for no finding
	}{
		"deny by default":  {func(*Settings, *VPA) {}, Deny},
		"warn":             {func(s *Settings, _ *VPA) { s.Rules.HPAVPAConflict.Action = Warn }, Warn},
		"off":              {func(s *Settings, _ *VPA) { s.Rules.HPAVPAConflict.Action = Off }, ""},
		"warn mode":        {func(s *Settings, _ *VPA) { s.Mode = WarnOnly }, Warn},
		"exempt namespace": {func(s *Settings, _ *VPA) { s.ExemptNamespaces = []string{"shop"} }, ""},
		"exemption annotation": {func(_ *Settings, v *VPA) {
			v.Annotations = map[string]string{AnnotationExempt: HPAVPAConflict, AnnotationExemptReason: "OPS-1"}
		}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			v := v.DeepCopy()
			tc.edit(&s, v)
			got := EvaluateVPA(VPAReview{Object: v, Cluster: c}, &s)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("want nothing, got %v", got)
				}
				return
			}
			if len(got) == 0 || got[0].Action != tc.want {
				t.Errorf("want %s, got %v", tc.want, got)
			}
			fromHPA := findingsOf(EvaluateHPA(HPAReview{Object: h, Final: true, Cluster: c}, &s).Findings, HPAVPAConflict)
			if len(fromHPA) == 0 || fromHPA[0].Action != tc.want {
				t.Errorf("from the HPA: want %s, got %v", tc.want, fromHPA)
			}
		})
	}
}

func TestHPAVPAConflictUnknownCluster(t *testing.T) {
	s := Defaults()
	got := EvaluateVPA(VPAReview{Object: vpaFrom(t, vpaJSON("")), Cluster: unknownCluster{}}, &s)
	if len(got) != 1 || !got[0].Unchecked {
		t.Errorf("want one not-checked warning, got %v", got)
	}
	if got := EvaluateVPA(VPAReview{Object: vpaFrom(t, vpaJSON(""))}, &s); got != nil {
		t.Errorf("offline without a cluster: want nothing, got %v", got)
	}
}

// TestMemoryTargetLeavesVPAMemoryAlone: the standard's memory target is not
// added beside a VPA that sets memory, and then nothing conflicts; a VPA on
// cpu only leaves memory to the HPA.
func TestMemoryTargetLeavesVPAMemoryAlone(t *testing.T) {
	cpu := utilizationMetric(corev1.ResourceCPU, 70)
	for name, tc := range map[string]struct {
		vpa        string
		wantMemory bool
	}{
		"VPA on memory": {`"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":["memory"]}]}`, false},
		"VPA on cpu":    {`"resourcePolicy":{"containerPolicies":[{"containerName":"*","controlledResources":["cpu"]}]}`, true},
		"VPA off":       {`"updatePolicy":{"updateMode":"Off"}`, true},
	} {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.Rules.HPAVPAConflict.Action = Off
			c := clusterWith([]Workload{web()})
			c.AddVPA(vpaFrom(t, vpaJSON(tc.vpa)))
			r := EvaluateHPA(HPAReview{Object: hpa(withMetrics(cpu)), Cluster: c}, &s)
			if got := len(findingsOf(r.Findings, MemoryTarget)) > 0; got != tc.wantMemory {
				t.Errorf("memory-target said something: %v, want %v (%v)", got, tc.wantMemory, r.Findings)
			}
		})
	}
}
