package audit

import (
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/scaleguard/scaleguard/policies"
)

// reportAPI is one API the audit's reports are written as. Both carry the
// same reportContent: OpenReports (openreports.io/v1alpha1) is the
// PolicyReport format (wgpolicyk8s.io/v1alpha2) moved to its own group,
// with the same summary and result fields under the same JSON names, so the
// one model maps onto both and every report, whichever kind, says the same.
type reportAPI struct {
	gvk schema.GroupVersionKind
	// setting is the audit setting that asks for the kind, and crdValue
	// the chart value that installs its CRD: what a log line names.
	setting, crdValue string
	// sourceField says the kind has a top-level source, which names the
	// tool that wrote the whole report (Report has; PolicyReport has not).
	sourceField bool
	// enabled reads the audit setting that asks for this kind.
	enabled func(policies.AuditSettings) bool
}

var (
	policyReportAPI = reportAPI{
		gvk:      schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"},
		setting:  "audit.policyReports",
		crdValue: "crds.policyReports",
		enabled:  func(s policies.AuditSettings) bool { return s.PolicyReports },
	}
	openReportAPI = reportAPI{
		gvk:         schema.GroupVersionKind{Group: "openreports.io", Version: "v1alpha1", Kind: "Report"},
		setting:     "audit.openReports",
		crdValue:    "crds.openReports",
		sourceField: true,
		enabled:     func(s policies.AuditSettings) bool { return s.OpenReports },
	}
	// reportAPIs are every kind the audit can write, in the order it
	// writes them.
	reportAPIs = []reportAPI{policyReportAPI, openReportAPI}
)

// String names the kind with its API version, as logs and the served
// metric do: "wgpolicyk8s.io/v1alpha2 PolicyReport".
func (api reportAPI) String() string {
	return api.gvk.GroupVersion().String() + " " + api.gvk.Kind
}

func (api reportAPI) listGVK() schema.GroupVersionKind {
	return api.gvk.GroupVersion().WithKind(api.gvk.Kind + "List")
}

// object is content as this API's object: scaleguard's report in
// namespace, labelled as scaleguard's, with the number of results left out
// as an annotation.
func (api reportAPI) object(namespace string, content *reportContent) (*unstructured.Unstructured, error) {
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(content)
	if err != nil {
		return nil, err
	}
	if api.sourceField {
		fields["source"] = reportSource
	}
	u := &unstructured.Unstructured{Object: fields}
	u.SetGroupVersionKind(api.gvk)
	u.SetNamespace(namespace)
	u.SetName(ReportName)
	u.SetLabels(map[string]string{LabelManagedBy: managedBy})
	if content.Omitted > 0 {
		u.SetAnnotations(map[string]string{AnnotationOmitted: strconv.Itoa(content.Omitted)})
	}
	return u, nil
}

// content reads a stored report of this API back into the model. current
// is false when a field only this API has differs from what object
// writes, so that the report is written again even if its content is
// unchanged.
func (api reportAPI) content(u *unstructured.Unstructured) (rc *reportContent, current bool, err error) {
	rc = &reportContent{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, rc); err != nil {
		return nil, false, err
	}
	if v, ok := u.GetAnnotations()[AnnotationOmitted]; ok {
		rc.Omitted, _ = strconv.Atoi(v)
	}
	current = true
	if api.sourceField {
		source, _, _ := unstructured.NestedString(u.Object, "source")
		current = source == reportSource
	}
	return rc, current, nil
}
