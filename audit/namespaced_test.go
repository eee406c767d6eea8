package audit

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scaleguard/scaleguard/policies"
)

// namespacedSettings gives the sandbox namespace a standard of its own.
type namespacedSettings struct{ global, sandbox *policies.Settings }

func (n namespacedSettings) Current() *policies.Settings { return n.global }
func (n namespacedSettings) For(namespace string) *policies.Settings {
	if namespace == "sandbox" {
		return n.sandbox
	}
	return n.global
}

// With settings that differ by namespace (the scaleguard.io standards),
// each namespace is judged with its own, and the findings name it.
func TestScanJudgesEachNamespaceWithItsStandard(t *testing.T) {
	global, sandbox := policies.Defaults(), policies.Defaults()
	sandbox.Rules.RequestsRequired.Action = policies.Warn
	sandbox.Source = "ScalingStandard sandbox/relaxed"
	var objs []client.Object
	for _, ns := range []string{"shop", "sandbox"} {
		d := deployment(ns, "web", noRequests)
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, &d)
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()
	a, err := New(Options{Source: ReaderSource(c), Client: c, Settings: namespacedSettings{&global, &sandbox}, Registerer: prometheus.NewRegistry(), Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.ScanOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policies.Finding{}
	for _, f := range res.Findings {
		if f.Rule == policies.RequestsRequired {
			got[f.Object.Namespace] = f.Finding
		}
	}
	if f := got["shop"]; f.Action != policies.Deny {
		t.Errorf("shop: %+v, want deny under the cluster-wide standard", f)
	}
	if f := got["sandbox"]; f.Action != policies.Warn || !strings.Contains(f.Message, "(ScalingStandard sandbox/relaxed)") {
		t.Errorf("sandbox: %+v, want warn naming its standard", f)
	}
}
