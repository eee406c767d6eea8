package configuration

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
)

// customWorkloadRules match the main resource of each kind s.WorkloadKinds
// lists, in its listed version, one rule per kind: never its /scale or
// /status subresource, which the HPA controller and the kind's own
// controller write. Under matchPolicy Equivalent a write in another
// version of the same CRD reaches the webhook converted to the listed one.
func customWorkloadRules(ops []admissionregistrationv1.OperationType, s *policies.Settings) []admissionregistrationv1.RuleWithOperations {
	var out []admissionregistrationv1.RuleWithOperations
	for _, k := range s.WorkloadKinds {
		out = append(out, admissionregistrationv1.RuleWithOperations{
			Operations: ops,
			Rule: admissionregistrationv1.Rule{
				APIGroups:   []string{k.APIGroup},
				APIVersions: []string{k.Version},
				Resources:   []string{k.Resource},
				Scope:       ptr.To(admissionregistrationv1.NamespacedScope),
			},
		})
	}
	return out
}
