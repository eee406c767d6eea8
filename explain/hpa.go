package explain

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/scaling"
)

// HPA is one HorizontalPodAutoscaler from the files, as the webhook would
// see and store it.
type HPA struct {
	// Source names the document: file#n.
	Source string
	// Effective is the HPA after the API server's defaults and scaleguard's
	// mutations, in its v2 form: what would be stored.
	Effective *autoscalingv2.HorizontalPodAutoscaler
	// Findings are the rules' verdict on the HPA, exactly as `check` gives it.
	Findings policies.Findings
	// Target is the scale target's document when the files hold it, with
	// its own findings.
	Target *manifests.Result
}

// Name is namespace/name.
func (h HPA) Name() string {
	if h.Effective.Namespace == "" {
		return h.Effective.Name
	}
	return h.Effective.Namespace + "/" + h.Effective.Name
}

// Denied reports whether the HPA or its scale target is refused.
func (h HPA) Denied() bool {
	return h.Findings.Denied() || (h.Target != nil && h.Target.Findings.Denied())
}

// LoadHPAs runs `check` over docs and returns every HPA among them with its
// effective form: the object the webhook's rules judged, which is also what
// `check --fix` writes, with the API server's defaults applied.
func LoadHPAs(docs []manifests.Document, s *policies.Settings) ([]HPA, error) {
	return LoadHPAsWith(docs, s, nil)
}

// LoadHPAsWith is LoadHPAs with settings that differ by namespace (the
// scaleguard.io standards; see manifests.CheckWith).
func LoadHPAsWith(docs []manifests.Document, s *policies.Settings, forNamespace func(namespace string) *policies.Settings) ([]HPA, error) {
	report, err := manifests.CheckWith(docs, s, forNamespace)
	if err != nil {
		return nil, err
	}
	var out []HPA
	for _, res := range report.Results {
		if res.HPA == nil {
			continue
		}
		hpa := res.HPA
		hpa.TypeMeta = policies.TypeMetaHPAv2()
		// The rules leave an HPA in an exempt namespace as written.
		policies.ApplyAPIServerDefaults(hpa)
		h := HPA{Source: res.Doc.Source, Effective: hpa, Findings: res.Findings}
		for i, other := range report.Results {
			ref := hpa.Spec.ScaleTargetRef
			if other.Doc.Kind == ref.Kind && other.Doc.Name == ref.Name && other.Doc.Namespace == hpa.Namespace {
				h.Target = &report.Results[i]
				break
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// EffectiveYAML is the effective HPA as YAML, without status.
func (h HPA) EffectiveYAML() ([]byte, error) {
	return manifests.HPAYAML(h.Effective)
}

// ScalingOptions are the controller settings the behavior-consistency rule
// assumes, so that explain and simulate show the numbers the rule judged.
func ScalingOptions(s *policies.Settings) scaling.Options {
	c := s.Rules.BehaviorConsistency
	return scaling.Options{
		SyncPeriod:                   time.Duration(c.SyncPeriodSeconds) * time.Second,
		DownscaleStabilizationWindow: ptr.To(time.Duration(c.DownscaleStabilizationSeconds) * time.Second),
	}
}

// KubernetesDefaultBehavior is what the API server makes of `behavior: {}`:
// scale up by 4 pods or 100 % per 15 s, whichever is more, with no window;
// scale down by 100 % per 15 s after the controller's
// --horizontal-pod-autoscaler-downscale-stabilization window (the scale-down
// window stays nil, so the flag applies). It is the baseline `simulate
// --compare kubernetes` replays against; a nil behavior would instead take
// the controller's older legacy path.
func KubernetesDefaultBehavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: scaling.KubernetesScaleUpRules(), ScaleDown: scaling.KubernetesScaleDownRules()}
}
