package manifests

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/internal/patch"
	"github.com/scaleguard/scaleguard/policies"
)

// Result is the verdict on one document.
type Result struct {
	Doc      Document
	Findings policies.Findings
	// Fixed is the document with every mutation applied, as YAML; nil when
	// there is nothing to change.
	Fixed []byte
}

// Report is the verdict on every document, in input order.
type Report struct {
	Results []Result
}

// Denied reports whether any document is refused.
func (r Report) Denied() bool {
	for _, res := range r.Results {
		if res.Findings.Denied() {
			return true
		}
	}
	return false
}

// files is the cluster as the files describe it: their LimitRanges apply
// to the workloads in the same namespace.
type files struct {
	limitRanges map[string][]corev1.LimitRange
}

func (f files) LimitRanges(ns string) []corev1.LimitRange { return f.limitRanges[ns] }

// Check runs the rules over every document.
func Check(docs []Document, s *policies.Settings) (Report, error) {
	cluster := files{limitRanges: map[string][]corev1.LimitRange{}}
	for _, d := range docs {
		if d.APIVersion == "v1" && d.Kind == "LimitRange" {
			lr := corev1.LimitRange{}
			if err := decode(d, &lr); err != nil {
				return Report{}, err
			}
			cluster.limitRanges[d.Namespace] = append(cluster.limitRanges[d.Namespace], lr)
		}
	}
	var report Report
	for _, d := range docs {
		res, err := checkOne(d, cluster, s)
		if err != nil {
			return Report{}, err
		}
		report.Results = append(report.Results, res)
	}
	return report, nil
}

func checkOne(d Document, cluster files, s *policies.Settings) (Result, error) {
	res := Result{Doc: d}
	switch {
	case d.APIVersion == "apps/v1" && (d.Kind == policies.KindDeployment || d.Kind == policies.KindStatefulSet):
		var obj any = &appsv1.Deployment{}
		if d.Kind == policies.KindStatefulSet {
			obj = &appsv1.StatefulSet{}
		}
		if err := decode(d, obj); err != nil {
			return res, err
		}
		w, _ := policies.WorkloadOf(obj)
		res.Findings = policies.EvaluateWorkload(policies.WorkloadReview{Object: w, Cluster: cluster}, s)
	case d.Kind == policies.KindHPA:
		return checkHPA(d, s)
	}
	return res, nil
}

func checkHPA(d Document, s *policies.Settings) (Result, error) {
	res := Result{Doc: d}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	writtenAs := ""
	switch d.APIVersion {
	case "autoscaling/v2":
		if err := decode(d, hpa); err != nil {
			return res, err
		}
	case "autoscaling/v2beta2":
		// v2beta2 has the same schema as v2; only the version is wrong.
		if err := decode(d, hpa); err != nil {
			return res, err
		}
		writtenAs = d.APIVersion
	case "autoscaling/v1":
		v1 := &autoscalingv1.HorizontalPodAutoscaler{}
		if err := decode(d, v1); err != nil {
			return res, err
		}
		hpa = policies.ConvertV1HPA(v1)
		writtenAs = d.APIVersion
	default:
		return res, &ParseError{Source: d.Source, Err: fmt.Errorf("%s HorizontalPodAutoscaler is not served by Kubernetes any more; write autoscaling/v2", d.APIVersion)}
	}
	result := policies.EvaluateHPA(policies.HPAReview{Object: hpa, WrittenAs: writtenAs}, s)
	res.Findings = result.Findings
	if !result.Mutated && writtenAs == "" {
		return res, nil
	}
	fixed, err := fixHPA(d, hpa, result.Object, writtenAs != "")
	if err != nil {
		return res, &ParseError{Source: d.Source, Err: err}
	}
	res.Fixed = fixed
	return res, nil
}

// fixHPA writes the mutated HPA. For a v2 document the change is applied as
// a patch to the document itself, so fields the Go types do not know are
// kept; an old-version document is written out whole in v2.
func fixHPA(d Document, before, after *autoscalingv2.HorizontalPodAutoscaler, convert bool) ([]byte, error) {
	if convert {
		after = after.DeepCopy()
		after.TypeMeta = policies.TypeMetaHPAv2()
		js, err := json.Marshal(after)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, err
		}
		delete(m, "status")
		if meta, ok := m["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
			delete(meta, "creationTimestamp")
		}
		return yaml.Marshal(m)
	}
	ops, err := patch.ForDocument(d.JSON, before, after)
	if err != nil || len(ops) == 0 {
		return nil, err
	}
	out, err := patch.Apply(d.JSON, ops)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(out)
}

func decode(d Document, into any) error {
	if err := kjson.UnmarshalCaseSensitivePreserveInts(d.JSON, into); err != nil {
		return &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
	}
	return nil
}
