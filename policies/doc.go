// Package policies is scaleguard's autoscaling standard as pure functions:
// the rules, their settings, and the findings they make, with no HTTP, no
// API client and no clock.
//
// EvaluateHPA, EvaluateWorkload, EvaluateVPA and EvaluateScaledObject take
// one object (and, for an UPDATE, the object it replaces), the settings and
// a read-only view of the rest of the cluster (Cluster; nil offline), and
// return ordered Findings: which rule, what it does (Action: mutate, deny,
// warn), where in the object and how to fix it. The webhook, `scaleguard
// check` and the audit all call these same functions, so that a manifest
// checked offline, an object written through the API server and an object
// already stored get the same verdict.
//
// Each rule mirrors the upstream code whose behaviour it predicts, named
// beside it: the API server's defaulting and validation of an HPA, and the
// HPA controller's replica calculation (subpackage scaling). A rule that
// needs the cluster and cannot read it says "not checked" rather than
// guessing.
//
// The rule catalogue (Catalogue) lists every rule in reporting order with
// the kinds it looks at and the actions it may be set to; Settings holds
// each rule's action and numbers under the rule's ID, which is also its
// metric label and its heading in docs/rules.md.
package policies
