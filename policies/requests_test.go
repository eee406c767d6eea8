package policies

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func res(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Image: "example/" + name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func sidecar(c corev1.Container) corev1.Container {
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

func deployment(spec corev1.PodSpec) Workload {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
	}
	w, _ := WorkloadOf(d)
	return w
}

func limitRanges(lrs map[string][]corev1.LimitRange) Cluster {
	c := NewStaticCluster()
	for ns, list := range lrs {
		for _, lr := range list {
			lr.Namespace = ns
			c.AddLimitRange(lr)
		}
	}
	return c
}

func TestRequestsRequired(t *testing.T) {
	both := res("cpu", "100m", "memory", "128Mi")
	containerDefaults := limitRanges(map[string][]corev1.LimitRange{"shop": {{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, DefaultRequest: res("cpu", "100m")},
		{Type: corev1.LimitTypeContainer, Default: res("memory", "256Mi")},
	}}}}})
	podTypeOnly := limitRanges(map[string][]corev1.LimitRange{"shop": {{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypePod, Default: res("cpu", "1", "memory", "1Gi")},
	}}}}})
	// A StaticCluster defaults LimitRanges as the API server stores them.
	containerItem := func(item corev1.LimitRangeItem) Cluster {
		item.Type = corev1.LimitTypeContainer
		return limitRanges(map[string][]corev1.LimitRange{"shop": {{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{item}}}}})
	}
	tests := map[string]struct {
		spec    corev1.PodSpec
		cluster Cluster
		// want is one "action path" per finding, in order.
		want []string
		// mention is a substring each message must hold.
		mention []string
	}{
		"all requested": {
			spec: corev1.PodSpec{Containers: []corev1.Container{container("app", both, nil)}},
		},
		"nothing requested": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			want:    []string{"deny spec.template.spec.containers[0].resources.requests"},
			mention: []string{`container "app" requests no cpu or memory`},
		},
		"second container misses memory": {
			spec: corev1.PodSpec{Containers: []corev1.Container{
				container("app", both, nil), container("proxy", res("cpu", "10m"), nil)}},
			want:    []string{"deny spec.template.spec.containers[1].resources.requests"},
			mention: []string{`"proxy" requests no memory; set resources.requests.memory`},
		},
		"plain init container needs none": {
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{container("migrate", nil, nil)},
				Containers:     []corev1.Container{container("app", both, nil)}},
		},
		"sidecar init container needs requests": {
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{container("migrate", nil, nil), sidecar(container("envoy", nil, nil))},
				Containers:     []corev1.Container{container("app", both, nil)}},
			want:    []string{"deny spec.template.spec.initContainers[1].resources.requests"},
			mention: []string{`sidecar "envoy"`},
		},
		"limit without request warns": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "100m"), res("memory", "1Gi"))}},
			want:    []string{"warn spec.template.spec.containers[0].resources.requests"},
			mention: []string{"memory limit but no request"},
		},
		"zero request is refused": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "0", "memory", "1Gi"), nil)}},
			want:    []string{"deny spec.template.spec.containers[0].resources.requests"},
			mention: []string{"requests 0 cpu"},
		},
		"pod-level requests replace container requests": {
			spec: corev1.PodSpec{
				Resources:  &corev1.ResourceRequirements{Requests: both},
				Containers: []corev1.Container{container("app", nil, nil), container("proxy", nil, nil)}},
		},
		"pod-level limits only warn": {
			spec: corev1.PodSpec{
				Resources:  &corev1.ResourceRequirements{Limits: both},
				Containers: []corev1.Container{container("app", nil, nil)}},
			want: []string{"warn spec.template.spec.containers[0].resources.requests"},
		},
		"LimitRange defaultRequest and default fill requests": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			cluster: containerDefaults,
		},
		"LimitRange max alone fills requests (defaulted into default, then defaultRequest)": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			cluster: containerItem(corev1.LimitRangeItem{Max: both}),
		},
		"LimitRange min alone fills requests (defaulted into defaultRequest)": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			cluster: containerItem(corev1.LimitRangeItem{Min: both}),
		},
		"LimitRange max of cpu alone leaves memory missing": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			cluster: containerItem(corev1.LimitRangeItem{Max: res("cpu", "2")}),
			want:    []string{"deny spec.template.spec.containers[0].resources.requests"},
			mention: []string{`container "app" requests no memory`},
		},
		"LimitRange of type Pod does not": {
			spec:    corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}},
			cluster: podTypeOnly,
			want:    []string{"deny spec.template.spec.containers[0].resources.requests"},
		},
	}
	s := Defaults()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := EvaluateWorkload(WorkloadReview{Object: deployment(tc.spec), Cluster: tc.cluster}, &s)
			assertFindings(t, got, tc.want, tc.mention)
		})
	}
}

func TestRequestsRequiredOnlyConfiguredResources(t *testing.T) {
	s := Defaults()
	s.Rules.RequestsRequired.Resources = []corev1.ResourceName{corev1.ResourceCPU}
	spec := corev1.PodSpec{Containers: []corev1.Container{container("app", res("cpu", "1"), nil)}}
	if got := EvaluateWorkload(WorkloadReview{Object: deployment(spec)}, &s); len(got) != 0 {
		t.Fatalf("memory is not required by these settings, got %v", got)
	}
}

func assertFindings(t *testing.T, got Findings, want, mention []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d findings %v, want %d %v", len(got), got, len(want), want)
	}
	for i, f := range got {
		if s := string(f.Action) + " " + f.Path.String(); s != want[i] {
			t.Errorf("finding %d: got %q, want %q (%s)", i, s, want[i], f.Message)
		}
	}
	for _, m := range mention {
		found := false
		for _, f := range got {
			found = found || strings.Contains(f.Message, m)
		}
		if !found {
			t.Errorf("no finding mentions %q: %v", m, got)
		}
	}
}
