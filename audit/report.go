package audit

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// The report format of the Kubernetes Policy working group: PolicyReport
// (wgpolicyk8s.io/v1alpha2), which Kyverno wrote first and Policy Reporter
// reads, and its successor OpenReports' Report (openreports.io/v1alpha1),
// the same fields in their own group. The types below are the one model of
// a namespace's report; report_api.go maps it onto each kind. The reports
// are written as unstructured objects: the types mirror the fields
// scaleguard fills, so no dependency on either project's Go module is
// needed (their CRDs are pinned in hack/crds).

const (
	// ReportName is the name of scaleguard's report in each namespace,
	// whichever its kind.
	ReportName = "scaleguard"
	// FieldOwner is the field manager of scaleguard's server-side applies.
	FieldOwner = "scaleguard"
	// LabelManagedBy marks the reports scaleguard owns, and deletes when
	// their namespace has nothing left to report.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "scaleguard"
	// AnnotationOmitted is set on a report whose results were cut to
	// MaxReportResults; its value is the number left out. The summary still
	// counts them.
	AnnotationOmitted = "scaleguard.io/results-omitted"
	// MaxReportResults keeps a report well below etcd's object size limit
	// (about 1.5 MiB) at a few hundred bytes per result.
	MaxReportResults = 1000

	reportPolicy   = "scaleguard"
	reportSource   = "scaleguard"
	reportCategory = "Autoscaling"
)

// Results and severities of a report's result.
const (
	resultFail  = "fail"
	resultWarn  = "warn"
	resultError = "error"

	severityHigh   = "high"
	severityMedium = "medium"
	severityLow    = "low"
)

// reportSummary is a report's summary. Fail, warn and error count
// results; pass and skip count objects without any finding, since
// scaleguard lists no pass results (a namespace of a thousand compliant
// workloads would otherwise carry a thousand results times every rule).
type reportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

type reportResult struct {
	Policy     string                   `json:"policy"`
	Rule       string                   `json:"rule"`
	Result     string                   `json:"result"`
	Severity   string                   `json:"severity,omitempty"`
	Category   string                   `json:"category,omitempty"`
	Scored     bool                     `json:"scored"`
	Source     string                   `json:"source"`
	Message    string                   `json:"message"`
	Properties map[string]string        `json:"properties,omitempty"`
	Resources  []corev1.ObjectReference `json:"resources"`
	Timestamp  metav1.Timestamp         `json:"timestamp"`
}

// reportContent is what scaleguard writes into one namespace's report.
type reportContent struct {
	Summary reportSummary  `json:"summary"`
	Results []reportResult `json:"results,omitempty"`
	// Omitted is the number of results left out beyond MaxReportResults.
	Omitted int `json:"-"`
}

// buildReports turns a scan into the content of each namespace's report:
// one for every namespace with an object judged, so that a namespace whose
// violations were fixed shows a clean report rather than none. Every result
// is stamped now; carryTimestamps keeps the time a result was first seen.
func buildReports(res Result, now metav1.Timestamp) map[string]*reportContent {
	out := make(map[string]*reportContent, len(res.Namespaces))
	for ns, sum := range res.Namespaces {
		out[ns] = &reportContent{Summary: reportSummary{Pass: sum.Passed, Skip: sum.Skipped}}
	}
	for _, f := range res.Findings {
		rc := out[f.Object.Namespace]
		r := reportResult{
			Policy:     reportPolicy,
			Rule:       f.Rule,
			Category:   reportCategory,
			Scored:     true,
			Source:     reportSource,
			Message:    f.Message,
			Properties: map[string]string{"path": f.Path.String(), "action": string(f.Action)},
			Resources:  []corev1.ObjectReference{f.Object},
			Timestamp:  now,
		}
		r.Result, r.Severity = classify(f)
		switch r.Result {
		case resultFail:
			rc.Summary.Fail++
		case resultWarn:
			rc.Summary.Warn++
		case resultError:
			rc.Summary.Error++
		}
		if len(rc.Results) == MaxReportResults {
			rc.Omitted++
			continue
		}
		rc.Results = append(rc.Results, r)
	}
	return out
}

// classify maps a finding to a report's result and severity. A stored
// object that a mutate rule would change is out of the standard as it
// stands, and would be refused as it is by the validating webhook, so it
// fails; it ranks below a denial because the next write fixes it.
func classify(f Finding) (result, severity string) {
	switch {
	case f.Unchecked:
		return resultError, ""
	case f.Action == policies.Deny:
		return resultFail, severityHigh
	case f.Action == policies.Mutate:
		return resultFail, severityMedium
	default:
		return resultWarn, severityLow
	}
}

// carryTimestamps gives each result of want that old already had the time
// old gave it, when earlier, so the timestamp says since when a violation
// has stood and an unchanged namespace produces an unchanged report (and
// no write). Carried from several stored reports, the earliest wins.
func carryTimestamps(want, old *reportContent) {
	if old == nil {
		return
	}
	since := make(map[string]metav1.Timestamp, len(old.Results))
	for _, r := range old.Results {
		since[resultKey(r)] = r.Timestamp
	}
	for i, r := range want.Results {
		if t, ok := since[resultKey(r)]; ok && earlier(t, r.Timestamp) {
			want.Results[i].Timestamp = t
		}
	}
}

func earlier(a, b metav1.Timestamp) bool {
	return a.Seconds < b.Seconds || (a.Seconds == b.Seconds && a.Nanos < b.Nanos)
}

func resultKey(r reportResult) string {
	key := r.Rule + "\x00" + r.Result + "\x00" + r.Message + "\x00" + r.Properties["path"]
	for _, o := range r.Resources {
		key += "\x00" + string(o.UID) + "\x00" + o.Kind + "\x00" + o.Name
	}
	return key
}
