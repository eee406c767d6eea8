package policies

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestNamespaceExempt(t *testing.T) {
	labelled := func(labels map[string]string) Cluster {
		c := NewStaticCluster()
		c.AddNamespace(corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels}})
		return c
	}
	tests := map[string]struct {
		namespace string
		cluster   Cluster
		settings  func(*Settings)
		want      bool
	}{
		"listed in the settings":      {namespace: "kube-system", want: true},
		"listed, without a cluster":   {namespace: "kube-system", cluster: nil, want: true},
		"not listed, no labels known": {namespace: "shop", cluster: NewStaticCluster()},
		"not listed, no cluster":      {namespace: "shop"},
		"opt-out label true":          {namespace: "shop", cluster: labelled(map[string]string{DefaultOptOutLabel: "true"}), want: true},
		"opt-out label false":         {namespace: "shop", cluster: labelled(map[string]string{DefaultOptOutLabel: "false"})},
		"opt-out label True is not true": {
			// The namespaceSelector matches the value "true" exactly.
			namespace: "shop", cluster: labelled(map[string]string{DefaultOptOutLabel: "True"})},
		"another label": {namespace: "shop", cluster: labelled(map[string]string{"team": "true"})},
		"the settings' own label": {
			namespace: "shop", cluster: labelled(map[string]string{"example.com/no-scaleguard": "true"}),
			settings: func(s *Settings) { s.OptOutLabel = "example.com/no-scaleguard" }, want: true},
		"the default label, once the settings name another": {
			namespace: "shop", cluster: labelled(map[string]string{DefaultOptOutLabel: "true"}),
			settings: func(s *Settings) { s.OptOutLabel = "example.com/no-scaleguard" }},
		"labels unknown (view not synced): only the list counts": {namespace: "shop", cluster: unknownCluster{}},
		"a namespace no longer listed": {
			namespace: "kube-system", settings: func(s *Settings) { s.ExemptNamespaces = nil }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			if tc.settings != nil {
				tc.settings(&s)
			}
			if got := NamespaceExempt(&s, tc.cluster, tc.namespace); got != tc.want {
				t.Errorf("NamespaceExempt(%s) = %v, want %v", tc.namespace, got, tc.want)
			}
		})
	}
}

// The rules judge nothing in an exempt namespace, whichever way it is
// exempt: every finding the same objects get elsewhere is dropped.
func TestRulesSkipExemptNamespaces(t *testing.T) {
	bare := deployment(corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}})
	lowMin := hpa(withMin(ptr.To[int32](1)))
	optedOut := NewStaticCluster()
	optedOut.AddNamespace(corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{DefaultOptOutLabel: "true"}}})
	listed := Defaults()
	listed.ExemptNamespaces = append(listed.ExemptNamespaces, "shop")
	standard := Defaults()
	tests := map[string]struct {
		cluster  Cluster
		settings *Settings
		exempt   bool
	}{
		"judged":                 {cluster: NewStaticCluster(), settings: &standard},
		"labelled to opt out":    {cluster: optedOut, settings: &standard, exempt: true},
		"listed in the settings": {cluster: NewStaticCluster(), settings: &listed, exempt: true},
		"listed, nothing known":  {settings: &listed, exempt: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := EvaluateWorkload(WorkloadReview{Object: bare, Cluster: tc.cluster}, tc.settings)
			h := EvaluateHPA(HPAReview{Object: lowMin, Cluster: tc.cluster}, tc.settings)
			if tc.exempt && (len(w) > 0 || len(h.Findings) > 0 || h.Mutated) {
				t.Errorf("exempt namespace judged: workload %v, HPA %v (mutated %v)", w, h.Findings, h.Mutated)
			}
			if !tc.exempt && (len(w) == 0 || len(h.Findings) == 0) {
				t.Errorf("namespace not judged: workload %v, HPA %v", w, h.Findings)
			}
		})
	}
}
