package stock

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// deploymentValidator runs the workload rules on Deployments.
type deploymentValidator struct{ settings *policies.Settings }

// ValidateCreate implements admission.Validator.
func (v deploymentValidator) ValidateCreate(_ context.Context, d *appsv1.Deployment) (admission.Warnings, error) {
	return v.validate(d, nil)
}

// ValidateUpdate implements admission.Validator.
func (v deploymentValidator) ValidateUpdate(_ context.Context, old, d *appsv1.Deployment) (admission.Warnings, error) {
	return v.validate(d, old)
}

// ValidateDelete implements admission.Validator; a deletion is never judged.
func (v deploymentValidator) ValidateDelete(context.Context, *appsv1.Deployment) (admission.Warnings, error) {
	return nil, nil
}

func (v deploymentValidator) validate(d, old *appsv1.Deployment) (admission.Warnings, error) {
	w, _ := policies.WorkloadOf(d)
	review := policies.WorkloadReview{Object: w}
	if old != nil {
		o, _ := policies.WorkloadOf(old)
		review.Old = &o
	}
	return verdict(policies.KindDeployment, d.Namespace, d.Name, policies.EvaluateWorkload(review, v.settings))
}
