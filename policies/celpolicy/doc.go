// Package celpolicy renders scaleguard's standard as CEL for the API server
// itself: the matchConditions that keep a compliant write from ever reaching
// the webhook, and the ValidatingAdmissionPolicies and
// MutatingAdmissionPolicies that carry the rules CEL can express.
//
// Everything here is derived from policies.Settings, the one source the
// rules read, so that changing a setting changes the webhook's verdict and
// the API server's decision to ask for it together. The expressions are
// evaluated by the API server on every write, before any schema validation
// for the mutating webhooks, so no field is assumed present: every access
// is guarded (optional selection with .?, orValue), and a condition that
// cannot be evaluated would be treated as the webhook's failure policy.
package celpolicy
