package stock

import (
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
)

// Handlers are the stock webhooks, one per path scaleguard serves
// (webhook.PathMutateHPA, PathValidateHPA, PathValidateWorkload).
type Handlers struct {
	MutateHPA, ValidateHPA, ValidateDeployment http.Handler
}

// Option changes how the stock defaulter is built.
type Option = admission.DefaulterOption

// NewHandlers builds the stock webhooks over settings s. opts go to the
// defaulter, e.g. admission.DefaulterRemoveUnknownOrOmitableFields.
func NewHandlers(s *policies.Settings, opts ...Option) (Handlers, error) {
	scheme := runtime.NewScheme()
	if err := autoscalingv2.AddToScheme(scheme); err != nil {
		return Handlers{}, err
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		return Handlers{}, err
	}
	return Handlers{
		MutateHPA:          admission.WithDefaulter(scheme, admission.Defaulter[*autoscalingv2.HorizontalPodAutoscaler](hpaDefaulter{s}), opts...),
		ValidateHPA:        admission.WithValidator(scheme, admission.Validator[*autoscalingv2.HorizontalPodAutoscaler](hpaValidator{s})),
		ValidateDeployment: admission.WithValidator(scheme, admission.Validator[*appsv1.Deployment](deploymentValidator{s})),
	}, nil
}
