package stock

import (
	"context"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// hpaDefaulter runs scaleguard's mutate rules as a typed Defaulter. It cannot
// return the warnings that say what it changed: the interface has no place
// for them.
type hpaDefaulter struct{ settings *policies.Settings }

// Default implements admission.Defaulter.
func (d hpaDefaulter) Default(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	result := policies.EvaluateHPA(policies.HPAReview{Object: hpa, WrittenAs: writtenAs(ctx)}, d.settings)
	if result.Mutated {
		*hpa = *result.Object
	}
	return nil
}

// hpaValidator judges the final HPA, as scaleguard's validating webhook does.
type hpaValidator struct{ settings *policies.Settings }

// ValidateCreate implements admission.Validator.
func (v hpaValidator) ValidateCreate(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (admission.Warnings, error) {
	return v.validate(ctx, hpa, nil)
}

// ValidateUpdate implements admission.Validator.
func (v hpaValidator) ValidateUpdate(ctx context.Context, old, hpa *autoscalingv2.HorizontalPodAutoscaler) (admission.Warnings, error) {
	return v.validate(ctx, hpa, old)
}

// ValidateDelete implements admission.Validator; a deletion is never judged.
func (v hpaValidator) ValidateDelete(context.Context, *autoscalingv2.HorizontalPodAutoscaler) (admission.Warnings, error) {
	return nil, nil
}

func (v hpaValidator) validate(ctx context.Context, hpa, old *autoscalingv2.HorizontalPodAutoscaler) (admission.Warnings, error) {
	result := policies.EvaluateHPA(policies.HPAReview{Object: hpa, Old: old, WrittenAs: writtenAs(ctx), Final: true}, v.settings)
	return verdict(policies.KindHPA, hpa.Namespace, hpa.Name, result.Findings)
}

// writtenAs is the apiVersion the client wrote, when the API server
// converted the object before sending it; the typed object no longer says.
func writtenAs(ctx context.Context) string {
	req, err := admission.RequestFromContext(ctx)
	if err != nil || req.RequestKind == nil {
		return ""
	}
	if rk := req.RequestKind; rk.Group != req.Kind.Group || rk.Version != req.Kind.Version {
		return rk.Group + "/" + rk.Version
	}
	return ""
}

// verdict is what a typed Validator can say: warnings, and an error that
// becomes the denial message.
func verdict(kind, namespace, name string, findings policies.Findings) (admission.Warnings, error) {
	var denied []string
	var warnings admission.Warnings
	for _, f := range findings {
		if f.Action == policies.Deny {
			denied = append(denied, f.String())
		} else {
			warnings = append(warnings, f.String())
		}
	}
	if len(denied) > 0 {
		return warnings, fmt.Errorf("scaleguard refused %s %s/%s: %s", kind, namespace, name, strings.Join(denied, "; "))
	}
	return warnings, nil
}
