package policies

// DefaultOptOutLabel is the namespace label that, set to "true", exempts a
// namespace unless the settings name another (optOutLabel).
const DefaultOptOutLabel = "scaleguard.io/ignore"

// OptedOut reports whether a namespace with these labels opts out through
// the settings' opt-out label.
func (s *Settings) OptedOut(labels map[string]string) bool {
	return labels[s.OptOutLabel] == "true"
}

// NamespaceExempt is the one definition of an exempt namespace: listed in
// exemptNamespaces, or labelled with the opt-out label set to "true". The
// webhook configurations express the same as their namespaceSelector and
// matchConditions (celpolicy.NamespaceSelector, celpolicy.MatchConditions);
// the rules, the webhook handler, `scaleguard check` and the audit ask this
// function. A namespace's labels come from c: the webhook's view of the
// cluster, the Namespace documents `scaleguard check` reads, the audit's
// snapshot. When c is nil or cannot tell, only the list counts: the API
// server's namespaceSelector has already kept the writes of an opted-out
// namespace away from the webhook.
func NamespaceExempt(s *Settings, c Cluster, namespace string) bool {
	if s.IsExemptNamespace(namespace) {
		return true
	}
	if c == nil {
		return false
	}
	labels, err := c.NamespaceLabels(namespace)
	return err == nil && s.OptedOut(labels)
}
