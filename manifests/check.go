package manifests

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/internal/objectjson"
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
	// HPA is, for a HorizontalPodAutoscaler, the object the rules judged: in
	// its v2 form, with the API server's defaults and every mutation applied
	// (as written in an exempt namespace). Nil for other kinds.
	HPA *autoscalingv2.HorizontalPodAutoscaler
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

// object is one document decoded into what the rules read.
type object struct {
	workload  *policies.Workload
	hpa       *autoscalingv2.HorizontalPodAutoscaler
	writtenAs string
	vpa       *policies.VPA
	so        *policies.ScaledObject
}

// Check runs the rules over every document. The documents are also the
// rules' view of the cluster: a LimitRange, a Namespace (its opt-out
// label), a ResourceQuota, a PodDisruptionBudget, a workload, an HPA, a
// VerticalPodAutoscaler or a KEDA ScaledObject in one file counts for the
// others, as if they were all applied.
func Check(docs []Document, s *policies.Settings) (Report, error) {
	return CheckWith(docs, s, nil)
}

// CheckWith is Check with settings that differ by namespace (the
// scaleguard.io standards): each object is judged with forNamespace of its
// namespace; s gives what is cluster-wide (the custom workload kinds).
// A nil forNamespace judges every object with s.
func CheckWith(docs []Document, s *policies.Settings, forNamespace func(namespace string) *policies.Settings) (Report, error) {
	in := func(namespace string) *policies.Settings {
		if forNamespace == nil {
			return s
		}
		return forNamespace(namespace)
	}
	cluster := policies.NewFilesCluster()
	objects := make([]object, len(docs))
	for i, d := range docs {
		o, err := decodeDocument(d, cluster, s)
		if err != nil {
			return Report{}, err
		}
		objects[i] = o
	}
	var report Report
	for i, d := range docs {
		res := Result{Doc: d}
		o := objects[i]
		switch {
		case o.workload != nil:
			res.Findings = policies.EvaluateWorkload(policies.WorkloadReview{Object: *o.workload, Cluster: cluster}, in(o.workload.Meta.Namespace))
		case o.hpa != nil:
			result := policies.EvaluateHPA(policies.HPAReview{Object: o.hpa, WrittenAs: o.writtenAs, Cluster: cluster}, in(o.hpa.Namespace))
			res.Findings, res.HPA = result.Findings, result.Object
			if result.Mutated || o.writtenAs != "" {
				fixed, err := fixHPA(d, o.hpa, result.Object, o.writtenAs != "")
				if err != nil {
					return Report{}, &ParseError{Source: d.Source, Err: err}
				}
				res.Fixed = fixed
			}
		case o.vpa != nil:
			res.Findings = policies.EvaluateVPA(policies.VPAReview{Object: o.vpa, Cluster: cluster}, in(o.vpa.Namespace))
		case o.so != nil:
			res.Findings = policies.EvaluateScaledObject(policies.ScaledObjectReview{Object: o.so, Cluster: cluster}, in(o.so.Namespace))
		}
		report.Results = append(report.Results, res)
	}
	return report, nil
}

// decodeDocument decodes the kinds the rules read and adds them to cluster.
func decodeDocument(d Document, cluster *policies.StaticCluster, s *policies.Settings) (object, error) {
	if k, ok := customWorkloadKind(d, s); ok {
		return decodeCustomWorkload(d, k, cluster)
	}
	switch {
	case d.APIVersion == "v1" && d.Kind == "LimitRange":
		lr := corev1.LimitRange{}
		if err := decode(d, &lr); err != nil {
			return object{}, err
		}
		cluster.AddLimitRange(lr)
	case d.APIVersion == "v1" && d.Kind == "ResourceQuota":
		q := corev1.ResourceQuota{}
		if err := decode(d, &q); err != nil {
			return object{}, err
		}
		cluster.AddResourceQuota(q)
	case d.APIVersion == "policy/v1" && d.Kind == "PodDisruptionBudget":
		pdb := policyv1.PodDisruptionBudget{}
		if err := decode(d, &pdb); err != nil {
			return object{}, err
		}
		cluster.AddPodDisruptionBudget(pdb)
	case d.APIVersion == "v1" && d.Kind == "Namespace":
		// Its labels may opt it out (policies.NamespaceExempt), as they do
		// in the cluster.
		ns := corev1.Namespace{}
		if err := decode(d, &ns); err != nil {
			return object{}, err
		}
		cluster.AddNamespace(ns)
	case d.APIVersion == "apps/v1" && (d.Kind == policies.KindDeployment || d.Kind == policies.KindStatefulSet):
		var obj any = &appsv1.Deployment{}
		if d.Kind == policies.KindStatefulSet {
			obj = &appsv1.StatefulSet{}
		}
		if err := decode(d, obj); err != nil {
			return object{}, err
		}
		w, _ := policies.WorkloadOf(obj)
		cluster.AddWorkload(w)
		return object{workload: &w}, nil
	case d.Kind == policies.KindHPA:
		hpa, writtenAs, err := decodeHPA(d)
		if err != nil {
			return object{}, err
		}
		cluster.AddHPA(hpa)
		return object{hpa: hpa, writtenAs: writtenAs}, nil
	case d.APIVersion == policies.VPAGroup+"/"+policies.VPAVersion && d.Kind == policies.KindVPA:
		// v1 is the one version the VPA's CRD serves (v1beta2 is
		// served: false since VPA 1.0).
		vpa, err := policies.DecodeVPA(d.JSON)
		if err != nil {
			return object{}, &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
		}
		cluster.AddVPA(vpa)
		return object{vpa: vpa}, nil
	case d.APIVersion == policies.ScaledObjectGroup+"/"+policies.ScaledObjectVersion && d.Kind == policies.KindScaledObject:
		// v1alpha1 is the one version KEDA's CRD serves.
		so, err := policies.DecodeScaledObject(d.JSON)
		if err != nil {
			return object{}, &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
		}
		cluster.AddScaledObject(so)
		return object{so: so}, nil
	}
	return object{}, nil
}

// decodeHPA reads every version of the HPA API ever served as v2, converted
// as the API server converts it, and says which version was written when it
// is not v2.
func decodeHPA(d Document) (*autoscalingv2.HorizontalPodAutoscaler, string, error) {
	switch d.APIVersion {
	case "autoscaling/v2":
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		return hpa, "", decode(d, hpa)
	case "autoscaling/v2beta2":
		// v2beta2 has v2's schema but for tolerance, which the conversion
		// takes from annotations.
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := decode(d, hpa); err != nil {
			return nil, "", err
		}
		v2, err := policies.ConvertV2beta2HPA(hpa)
		if err != nil {
			return nil, "", &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
		}
		return v2, d.APIVersion, nil
	case "autoscaling/v2beta1":
		hpa := &policies.HPAv2beta1{}
		if err := decode(d, hpa); err != nil {
			return nil, "", err
		}
		return policies.ConvertV2beta1HPA(hpa), d.APIVersion, nil
	case "autoscaling/v1":
		v1 := &autoscalingv1.HorizontalPodAutoscaler{}
		if err := decode(d, v1); err != nil {
			return nil, "", err
		}
		return policies.ConvertV1HPA(v1), d.APIVersion, nil
	}
	return nil, "", &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: apiVersion %s is not a version of the HPA API; write apiVersion: autoscaling/v2", d.Kind, d.Name, d.APIVersion)}
}

// fixHPA writes the mutated HPA. For a v2 document the change is applied as
// a patch to the document itself, so fields the Go types do not know are
// kept; an old-version document is written out whole in v2.
func fixHPA(d Document, before, after *autoscalingv2.HorizontalPodAutoscaler, convert bool) ([]byte, error) {
	if convert {
		return HPAYAML(after)
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

// decode reads a document with the decoder the webhook reads objects with
// (internal/objectjson), so that check and serve agree on what it says.
func decode(d Document, into any) error {
	if err := objectjson.Unmarshal(d.JSON, into); err != nil {
		return &ParseError{Source: d.Source, Err: fmt.Errorf("%s %s: %w", d.Kind, d.Name, err)}
	}
	return nil
}

// HPAYAML writes an HPA as an autoscaling/v2 manifest: without status and
// without the empty creationTimestamp the Go type always carries.
func HPAYAML(hpa *autoscalingv2.HorizontalPodAutoscaler) ([]byte, error) {
	hpa = hpa.DeepCopy()
	hpa.TypeMeta = policies.TypeMetaHPAv2()
	js, err := json.Marshal(hpa)
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
