package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// describe lists findings as "Kind ns/name rule action", with " unchecked"
// for findings that are not violations.
func describe(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s %s/%s %s %s", f.Object.Kind, f.Object.Namespace, f.Object.Name, f.Rule, f.Action)
		if f.Unchecked {
			out[i] += " unchecked"
		}
	}
	return out
}

// unknownHPAs is a cluster view that cannot list HPAs right now.
type unknownHPAs struct{ *policies.StaticCluster }

func (unknownHPAs) HPAsFor(string, string, string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	return nil, policies.ErrUnknown
}

func TestScan(t *testing.T) {
	keda := func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "orders"}}
	}
	tests := map[string]struct {
		objs     Objects
		settings func(*policies.Settings)
		// cluster, when set, replaces the snapshot of objs.
		cluster func(Objects) policies.Cluster
		want    []string
		// wantNamespaces are the per-namespace summaries, when checked.
		wantNamespaces map[string]NamespaceSummary
		// wantIn are substrings of the first finding's message.
		wantIn []string
		// wantNotIn must not appear in any message.
		wantNotIn []string
	}{
		"standard objects pass": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web")},
			},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 2, Passed: 2}},
		},
		"workload without requests is denied": {
			objs:           Objects{Workloads: workloads(deployment("shop", "web", noRequests))},
			want:           []string{"Deployment shop/web requests-required deny"},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		},
		"StatefulSets are judged too": {
			objs: Objects{Workloads: func() []Workload {
				d := deployment("db", "pg", noRequests)
				w, _ := WorkloadOf(&appsv1.StatefulSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.StatefulSetSpec{Template: d.Spec.Template}})
				return []Workload{w}
			}()},
			want: []string{"StatefulSet db/pg requests-required deny"},
		},
		"HPA as the API server stores a minimal one breaks the mutate rules": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", asDefaulted)},
			},
			want: []string{
				"HorizontalPodAutoscaler shop/web min-replicas mutate",
				"HorizontalPodAutoscaler shop/web memory-target mutate",
				"HorizontalPodAutoscaler shop/web behavior-defaults mutate",
			},
			wantIn: []string{"set spec.minReplicas: 2"},
		},
		"min-replicas that cannot be mutated stays a denial": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs: []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", func(h *autoscalingv2.HorizontalPodAutoscaler) {
					h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr.To[int32](1), 1
				})},
			},
			want: []string{
				"HorizontalPodAutoscaler shop/web min-replicas deny",
				"HorizontalPodAutoscaler shop/web behavior-consistency warn",
			},
			wantIn: []string{"set spec.maxReplicas to at least 2"},
		},
		"the mutate rules set to deny report deny": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", asDefaulted)},
			},
			settings: func(s *policies.Settings) {
				s.Rules.MinReplicas.Action = policies.Deny
				s.Rules.MemoryTarget.Action = policies.Warn
				s.Rules.BehaviorDefaults.Action = policies.Off
			},
			want: []string{
				"HorizontalPodAutoscaler shop/web min-replicas deny",
				"HorizontalPodAutoscaler shop/web memory-target warn",
			},
		},
		"an HPA owned by KEDA is reported, not as a mutation": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", keda, func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr.To[int32](1) })},
			},
			want:   []string{"HorizontalPodAutoscaler shop/web min-replicas warn"},
			wantIn: []string{"ScaledObject", "owns this HPA"},
		},
		"warn mode reports the configured action": {
			objs:      Objects{Workloads: workloads(deployment("shop", "web", noRequests))},
			settings:  func(s *policies.Settings) { s.Mode = policies.WarnOnly },
			want:      []string{"Deployment shop/web requests-required deny"},
			wantNotIn: []string{"warn mode"},
		},
		"a rule set to warn reports warn": {
			objs:     Objects{Workloads: workloads(deployment("shop", "web", noRequests))},
			settings: func(s *policies.Settings) { s.Rules.RequestsRequired.Action = policies.Warn },
			want:     []string{"Deployment shop/web requests-required warn"},
		},
		"a rule turned off reports nothing": {
			objs:           Objects{Workloads: workloads(deployment("shop", "web", noRequests))},
			settings:       func(s *policies.Settings) { s.Rules.RequestsRequired.Action = policies.Off },
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1, Passed: 1}},
		},
		"exempt namespaces are not scanned": {
			objs: Objects{
				Workloads: workloads(deployment("kube-system", "dns", noRequests)),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("kube-system", "dns", "dns", asDefaulted)},
			},
			wantNamespaces: map[string]NamespaceSummary{},
		},
		"namespaces labelled to opt out are not scanned": {
			objs: Objects{
				Namespaces: []corev1.Namespace{
					namespace("legacy", policies.DefaultOptOutLabel, "true"),
					namespace("shop", policies.DefaultOptOutLabel, "false"),
				},
				Workloads: workloads(deployment("legacy", "old", noRequests), deployment("shop", "web", noRequests)),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("legacy", "old", "old", asDefaulted)},
			},
			want:           []string{"Deployment shop/web requests-required deny"},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		},
		"the settings' opt-out label is the one read": {
			objs: Objects{
				Namespaces: []corev1.Namespace{
					namespace("legacy", "example.com/no-scaleguard", "true"),
					namespace("shop", policies.DefaultOptOutLabel, "true"),
				},
				Workloads: workloads(deployment("legacy", "old", noRequests), deployment("shop", "web", noRequests)),
			},
			settings:       func(s *policies.Settings) { s.OptOutLabel = "example.com/no-scaleguard" },
			want:           []string{"Deployment shop/web requests-required deny"},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		},
		"a namespace exempt in the settings is not scanned": {
			objs: Objects{
				Workloads: workloads(deployment("legacy", "old", noRequests), deployment("shop", "web", noRequests)),
			},
			settings:       func(s *policies.Settings) { s.ExemptNamespaces = append(s.ExemptNamespaces, "legacy") },
			want:           []string{"Deployment shop/web requests-required deny"},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		},
		"the cluster view's namespace labels opt out too": {
			objs: Objects{
				Workloads: workloads(deployment("legacy", "old", noRequests), deployment("shop", "web", noRequests)),
			},
			// The webhook's view: no Namespaces in objs, the labels come
			// from the cluster the audit is given.
			cluster: func(o Objects) policies.Cluster {
				c := Snapshot(o)
				c.AddNamespace(namespace("legacy", policies.DefaultOptOutLabel, "true"))
				return c
			},
			want:           []string{"Deployment shop/web requests-required deny"},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		},
		"an exemption with a reason is honoured and counted as skipped": {
			objs: Objects{Workloads: workloads(deployment("shop", "vendor", noRequests,
				deploymentMeta(annotated(policies.AnnotationExempt, "requests-required", policies.AnnotationExemptReason, "sized by the vendor"))))},
			wantNamespaces: map[string]NamespaceSummary{"shop": {Objects: 1, Skipped: 1}},
		},
		"an exemption without a reason is ignored and reported": {
			objs: Objects{Workloads: workloads(deployment("shop", "vendor", noRequests,
				deploymentMeta(annotated(policies.AnnotationExempt, "requests-required"))))},
			want: []string{
				"Deployment shop/vendor requests-required deny",
				"Deployment shop/vendor exemption-reason warn",
			},
		},
		"an HPA last written as autoscaling/v1": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", writtenWith("autoscaling/v2", "autoscaling/v1"))},
			},
			want:   []string{"HorizontalPodAutoscaler shop/web hpa-api-version deny"},
			wantIn: []string{"write apiVersion: autoscaling/v2"},
		},
		"an HPA moved from autoscaling/v1 to v2": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", writtenWith("autoscaling/v1", "autoscaling/v2"))},
			},
		},
		"cross-object rules see the other objects": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web", withSidecar)),
				HPAs: []autoscalingv2.HorizontalPodAutoscaler{
					hpa("shop", "web", "web"),
					hpa("shop", "web-2", "web"),
					hpa("shop", "ghost", "gone"),
				},
			},
			want: []string{
				"Deployment shop/web requests-required deny",
				"HorizontalPodAutoscaler shop/ghost target-exists warn",
				"HorizontalPodAutoscaler shop/web duplicate-hpa deny",
				"HorizontalPodAutoscaler shop/web target-requests deny",
				"HorizontalPodAutoscaler shop/web target-requests deny",
				"HorizontalPodAutoscaler shop/web-2 duplicate-hpa deny",
				"HorizontalPodAutoscaler shop/web-2 target-requests deny",
				"HorizontalPodAutoscaler shop/web-2 target-requests deny",
			},
		},
		"what the cluster view cannot answer is unchecked": {
			objs: Objects{
				Workloads: workloads(deployment("shop", "web")),
				HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web")},
			},
			cluster: func(o Objects) policies.Cluster { return unknownHPAs{Snapshot(o)} },
			want: []string{
				"Deployment shop/web target-requests warn unchecked",
				"HorizontalPodAutoscaler shop/web duplicate-hpa warn unchecked",
			},
		},
		"findings are ordered by namespace, kind and name": {
			objs: Objects{Workloads: workloads(
				deployment("b", "x", noRequests), deployment("a", "y", noRequests), deployment("a", "x", noRequests),
			)},
			want: []string{
				"Deployment a/x requests-required deny",
				"Deployment a/y requests-required deny",
				"Deployment b/x requests-required deny",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := policies.Defaults()
			if tc.settings != nil {
				tc.settings(&s)
			}
			var cluster policies.Cluster
			if tc.cluster != nil {
				cluster = tc.cluster(tc.objs)
			}
			res := Scan(tc.objs, cluster, &s)
			if got := describe(res.Findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
			if tc.wantNamespaces != nil && !maps.Equal(res.Namespaces, tc.wantNamespaces) {
				t.Errorf("namespaces = %+v, want %+v", res.Namespaces, tc.wantNamespaces)
			}
			for _, want := range tc.wantIn {
				if len(res.Findings) == 0 || !strings.Contains(res.Findings[0].Message, want) {
					t.Errorf("first finding's message should contain %q: %+v", want, res.Findings)
				}
			}
			for _, f := range res.Findings {
				for _, bad := range tc.wantNotIn {
					if strings.Contains(f.Message, bad) {
						t.Errorf("message %q contains %q", f.Message, bad)
					}
				}
			}
		})
	}
}

func TestViolationCounts(t *testing.T) {
	s := policies.Defaults()
	objs := Objects{
		Workloads: workloads(
			// Two containers without requests: two findings, one object.
			deployment("shop", "web", noRequests, withSidecar),
			deployment("shop", "api", noRequests),
			deployment("blog", "web", noRequests),
			deployment("blog", "ok"),
		),
		HPAs: []autoscalingv2.HorizontalPodAutoscaler{hpa("blog", "ok", "ok", asDefaulted)},
	}
	res := Scan(objs, nil, &s)
	got := res.ViolationCounts()
	want := map[ViolationKey]int{
		{policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny}: 2,
		{policies.RequestsRequired, "blog", policies.KindDeployment, policies.Deny}: 1,
		{policies.MinReplicas, "blog", policies.KindHPA, policies.Mutate}:           1,
		{policies.MemoryTarget, "blog", policies.KindHPA, policies.Mutate}:          1,
		{policies.BehaviorDefaults, "blog", policies.KindHPA, policies.Mutate}:      1,
	}
	if len(got) != len(want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%+v = %d, want %d", k, got[k], n)
		}
	}
	if res.Scanned != 5 {
		t.Errorf("scanned %d objects, want 5", res.Scanned)
	}
}

func TestScanFixedObjectsDropOut(t *testing.T) {
	s := policies.Defaults()
	objs := Objects{
		Workloads: workloads(deployment("shop", "web", noRequests), deployment("shop", "api", noRequests)),
		HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", asDefaulted)},
	}
	before := Scan(objs, nil, &s)
	if n := before.ViolationCounts()[ViolationKey{policies.RequestsRequired, "shop", policies.KindDeployment, policies.Deny}]; n != 2 {
		t.Fatalf("before the fix: %d Deployments without requests, want 2", n)
	}

	objs.Workloads[0] = workloads(deployment("shop", "web"))[0]
	objs.HPAs[0] = hpa("shop", "web", "web")
	after := Scan(objs, nil, &s)
	want := []string{"Deployment shop/api requests-required deny"}
	if got := describe(after.Findings); !slices.Equal(got, want) {
		t.Errorf("after the fix: %q, want %q", got, want)
	}
	if ns := after.Namespaces["shop"]; ns.Passed != 2 || ns.Objects != 3 {
		t.Errorf("after the fix: namespace summary %+v, want 2 of 3 passed", ns)
	}
}

// Scan must not change the objects it reads: they are the source's own.
func TestScanDoesNotModifyItsInput(t *testing.T) {
	s := policies.Defaults()
	deps := []appsv1.Deployment{deployment("shop", "web", noRequests)}
	objs := Objects{
		Workloads: workloads(deps...),
		HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "web", "web", asDefaulted)},
	}
	wantD, wantH := deps[0].DeepCopy(), objs.HPAs[0].DeepCopy()
	Scan(objs, nil, &s)
	if got := &deps[0]; !apiequality.Semantic.DeepEqual(got, wantD) {
		t.Errorf("Deployment changed: %+v", got)
	}
	if got := &objs.HPAs[0]; !apiequality.Semantic.DeepEqual(got, wantH) {
		t.Errorf("HPA changed: %+v", got.Spec)
	}
}
