// Package webhook is scaleguard's admission server: the HTTP mechanism that
// turns an AdmissionReview from the API server into a verdict of the rules
// in package policies, and nothing of the rules themselves.
//
// Each endpoint (NewHPAMutator, NewHPAValidator, NewWorkloadMutator,
// NewWorkloadValidator, NewVPAValidator, NewScaledObjectValidator,
// NewScalingStandardValidator) is an http.Handler built on one generic
// handler. Its ServeHTTP is the one way in, for the API server and for
// every test, benchmark and fuzz target alike: it reads the review, skips
// what is not scaleguard's to judge (subresources, DELETE, exempt
// namespaces) before any decoding, decodes the object in one pass, asks
// the rules with the settings in force for the object's namespace, and
// writes the answer back in the review's own API version.
//
// What the API server makes of an answer decides the split between a
// denial and an error: a verdict on the object (malformed, against the
// standard) is an admission response, while a failure of scaleguard
// itself, a panic included, is an HTTP 500, so that the webhook's
// failurePolicy applies rather than a denial nobody asked for.
//
// Server serves the endpoints over TLS with certificates reloaded from
// disk, the health and readiness probes, /metrics and, on request, pprof;
// on SIGTERM it fails readiness first and keeps answering for the shutdown
// delay, so that no API server call lands on a closed port during a
// rolling restart. SettingsFile reloads the settings file, and
// ConditionsSync keeps the webhook configurations' matchConditions in step
// with the settings, so that the API server does not call scaleguard for
// writes no rule could judge.
package webhook
