package audit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/scaleguard/scaleguard/policies"
)

func TestBuildReports(t *testing.T) {
	s := policies.Defaults()
	res := Scan(Objects{
		Workloads: workloads(
			deployment("shop", "api", noRequests),
			deployment("shop", "web"),
			deployment("shop", "vendor", noRequests,
				deploymentMeta(annotated(policies.AnnotationExempt, "*", policies.AnnotationExemptReason, "vendor's chart"))),
			deployment("blog", "web"),
		),
		HPAs: []autoscalingv2.HorizontalPodAutoscaler{
			hpa("shop", "web", "web", asDefaulted),
			hpa("shop", "ghost", "gone"),
		},
	}, nil, &s)
	now := metav1.Timestamp{Seconds: 1767225600}
	reports := buildReports(res, now)

	if len(reports) != 2 {
		t.Fatalf("reports for %d namespaces, want shop and blog", len(reports))
	}
	if got, want := reports["blog"].Summary, (reportSummary{Pass: 1}); got != want || len(reports["blog"].Results) != 0 {
		t.Errorf("blog: summary %+v and %d results, want %+v and none: a clean namespace keeps a clean report", got, len(reports["blog"].Results), want)
	}
	shop := reports["shop"]
	// api: requests-required (fail); web HPA: three mutations (fail);
	// ghost: target-exists (warn); web Deployment passes; vendor is exempt.
	if got, want := shop.Summary, (reportSummary{Pass: 1, Skip: 1, Fail: 4, Warn: 1}); got != want {
		t.Errorf("shop summary = %+v, want %+v", got, want)
	}
	var got []string
	for _, r := range shop.Results {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s %s action=%s", r.Resources[0].Kind, r.Resources[0].Namespace, r.Resources[0].Name,
			r.Rule, r.Result, r.Severity, r.Properties["action"]))
		if r.Policy != "scaleguard" || r.Source != "scaleguard" || !r.Scored || r.Timestamp != now || r.Message == "" || r.Properties["path"] == "" {
			t.Errorf("result %+v: want policy and source scaleguard, scored, stamped now, a message and a path", r)
		}
		if r.Resources[0].UID == "" || r.Resources[0].APIVersion == "" {
			t.Errorf("result %+v: the resource needs its uid and apiVersion", r)
		}
	}
	want := []string{
		"Deployment shop/api requests-required fail high action=deny",
		"HorizontalPodAutoscaler shop/ghost target-exists warn low action=warn",
		"HorizontalPodAutoscaler shop/web min-replicas fail medium action=mutate",
		"HorizontalPodAutoscaler shop/web memory-target fail medium action=mutate",
		"HorizontalPodAutoscaler shop/web behavior-defaults fail medium action=mutate",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results:\n got %q\nwant %q", got, want)
	}
}

func TestBuildReportsUnchecked(t *testing.T) {
	res := Result{
		Namespaces: map[string]NamespaceSummary{"shop": {Objects: 1}},
		Findings: []Finding{{
			Object: corev1.ObjectReference{Kind: policies.KindHPA, Namespace: "shop", Name: "web"},
			Finding: policies.Finding{Rule: policies.DuplicateHPA, Action: policies.Warn, Path: field.NewPath("metadata"), Message: "not checked: …",
				Unchecked: true},
		}},
	}
	shop := buildReports(res, metav1.Timestamp{})["shop"]
	if shop.Summary != (reportSummary{Error: 1}) || shop.Results[0].Result != resultError {
		t.Errorf("an unchecked rule is an error result: %+v", shop)
	}
}

func TestBuildReportsCapsResults(t *testing.T) {
	n := MaxReportResults + 7
	res := Result{Namespaces: map[string]NamespaceSummary{"big": {Objects: n}}}
	for i := range n {
		res.Findings = append(res.Findings, Finding{
			Object:  corev1.ObjectReference{Kind: policies.KindDeployment, Namespace: "big", Name: fmt.Sprintf("d%04d", i)},
			Finding: policies.Finding{Rule: policies.RequestsRequired, Action: policies.Deny, Path: field.NewPath("spec"), Message: "m"},
		})
	}
	big := buildReports(res, metav1.Timestamp{})["big"]
	if len(big.Results) != MaxReportResults || big.Omitted != 7 || big.Summary.Fail != n {
		t.Errorf("%d results, %d omitted, %d failed; want %d, 7, %d", len(big.Results), big.Omitted, big.Summary.Fail, MaxReportResults, n)
	}
}

func TestCarryTimestamps(t *testing.T) {
	s := policies.Defaults()
	objs := Objects{Workloads: workloads(deployment("shop", "api", noRequests))}
	first := buildReports(Scan(objs, nil, &s), metav1.Timestamp{Seconds: 100})["shop"]

	// Later, the same violation and a new one.
	objs.Workloads = append(objs.Workloads, workloads(deployment("shop", "web", noRequests))...)
	second := buildReports(Scan(objs, nil, &s), metav1.Timestamp{Seconds: 200})["shop"]
	carryTimestamps(second, first)
	if got := second.Results[0].Timestamp.Seconds; got != 100 {
		t.Errorf("a standing violation keeps the time it was first seen: %d, want 100", got)
	}
	if got := second.Results[1].Timestamp.Seconds; got != 200 {
		t.Errorf("a new violation is stamped now: %d, want 200", got)
	}

	// Nothing changed: the report is equal to the stored one, and is not
	// written again.
	third := buildReports(Scan(objs, nil, &s), metav1.Timestamp{Seconds: 300})["shop"]
	carryTimestamps(third, second)
	if !reflect.DeepEqual(third, second) {
		t.Errorf("an unchanged namespace should give an equal report:\n%+v\n%+v", third, second)
	}
}

// A report read back from the API server must equal the one built from
// the same scan, or every scan would rewrite every report; and both kinds
// carry the one content.
func TestReportRoundTrip(t *testing.T) {
	s := policies.Defaults()
	res := Scan(Objects{
		Workloads: workloads(deployment("shop", "api", noRequests)),
		HPAs:      []autoscalingv2.HorizontalPodAutoscaler{hpa("shop", "api", "api", asDefaulted)},
	}, nil, &s)
	want := buildReports(res, metav1.Timestamp{Seconds: 1767225600, Nanos: 0})["shop"]
	want.Omitted = 3
	for _, api := range reportAPIs {
		t.Run(api.gvk.Kind, func(t *testing.T) {
			obj, err := api.object("shop", want)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON, as the API server stores and returns it.
			raw, err := obj.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
			if u.GetAPIVersion() != api.gvk.GroupVersion().String() || u.GetKind() != api.gvk.Kind || u.GetNamespace() != "shop" || u.GetName() != ReportName {
				t.Errorf("object is %s %s %s/%s, want %s %s shop/%s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName(), api.gvk.GroupVersion(), api.gvk.Kind, ReportName)
			}
			source, hasSource, _ := unstructured.NestedString(u.Object, "source")
			if hasSource != api.sourceField || (hasSource && source != "scaleguard") {
				t.Errorf("top-level source = %q (present %v); the kind has one: %v", source, hasSource, api.sourceField)
			}
			got, current, err := api.content(u)
			if err != nil {
				t.Fatal(err)
			}
			if !current {
				t.Error("a report just written reads as needing a rewrite")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip changed the report:\n got %+v\nwant %+v", got, want)
			}
			if api.sourceField {
				unstructured.RemoveNestedField(u.Object, "source")
				if _, current, _ := api.content(u); current {
					t.Error("a Report whose source was removed reads as current; it would never be written again")
				}
			}
		})
	}
}

// A kind not asked for is only cleaned up: when scaleguard may not even
// list it (RBAC written for the kinds asked for), that is no error; for a
// kind asked for it is.
func TestReportKindNotAskedForNeedsNoRights(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, api := range reportAPIs {
		mapper.Add(api.gvk, meta.RESTScopeNamespace)
	}
	forbidden := func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if u, ok := list.(*unstructured.UnstructuredList); ok && u.GroupVersionKind().Group == openReportAPI.gvk.Group {
			return apierrors.NewForbidden(schema.GroupResource{Group: openReportAPI.gvk.Group, Resource: "reports"}, "", errors.New("RBAC"))
		}
		return c.List(ctx, list, opts...)
	}
	c := fake.NewClientBuilder().WithRESTMapper(mapper).WithInterceptorFuncs(interceptor.Funcs{List: forbidden}).Build()
	a, err := New(Options{Source: ReaderSource(c), Client: c, Settings: newSettingsBox(nil), Registerer: prometheus.NewRegistry(), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Namespaces: map[string]NamespaceSummary{}}
	if _, err := a.publishReports(t.Context(), policies.AuditSettings{PolicyReports: true}, res, metav1.Timestamp{}); err != nil {
		t.Errorf("OpenReports not asked for and not listable: %v, want no error", err)
	}
	if _, err := a.publishReports(t.Context(), policies.AuditSettings{PolicyReports: true, OpenReports: true}, res, metav1.Timestamp{}); !apierrors.IsForbidden(err) {
		t.Errorf("OpenReports asked for and not listable: %v, want the Forbidden error", err)
	}
}
