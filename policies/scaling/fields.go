package scaling

import "k8s.io/apimachinery/pkg/util/validation/field"

// Fields are where an autoscaler writes the fields a StuckReason names: an
// HPA's own spec (HPAFields), or the fields of an object an HPA is built
// from, as KEDA builds one from a ScaledObject, so that the reason points
// at what its author wrote. A nil field is the HPA's own.
type Fields struct {
	MinReplicas, MaxReplicas, Behavior *field.Path
}

// hpaFields are built once: a field.Path is never changed, only extended.
var hpaFields = Fields{
	MinReplicas: field.NewPath("spec", "minReplicas"),
	MaxReplicas: field.NewPath("spec", "maxReplicas"),
	Behavior:    field.NewPath("spec", "behavior"),
}

// HPAFields are an HPA's own fields.
func HPAFields() Fields { return hpaFields }

// resolve fills the fields left nil with the HPA's own.
func (f Fields) resolve() Fields {
	hpa := hpaFields
	if f.MinReplicas == nil {
		f.MinReplicas = hpa.MinReplicas
	}
	if f.MaxReplicas == nil {
		f.MaxReplicas = hpa.MaxReplicas
	}
	if f.Behavior == nil {
		f.Behavior = hpa.Behavior
	}
	return f
}

func (f Fields) scaleUp() *field.Path   { return f.Behavior.Child("scaleUp") }
func (f Fields) scaleDown() *field.Path { return f.Behavior.Child("scaleDown") }
