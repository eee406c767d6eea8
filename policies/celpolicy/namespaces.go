package celpolicy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/policies"
)

// namespaceNameLabel is the label the API server sets on every namespace to
// its name, so that a selector can name namespaces.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// NamespaceSelector selects the namespaces that are not exempt under s
// (policies.NamespaceExempt): not listed in exemptNamespaces, and without
// the opt-out label set to "true". Every webhook and every exported policy
// carries it; the ConditionNamespace matchCondition says the same of the
// list for a configuration installed with another selector.
func NamespaceSelector(s *policies.Settings) *metav1.LabelSelector {
	selector := &metav1.LabelSelector{}
	if len(s.ExemptNamespaces) > 0 {
		selector.MatchExpressions = append(selector.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: namespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: append([]string(nil), s.ExemptNamespaces...)})
	}
	selector.MatchExpressions = append(selector.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: s.OptOutLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"true"}})
	return selector
}
