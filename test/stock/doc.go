// Package stock is the baseline scaleguard's webhook is measured against:
// the same rules behind controller-runtime's typed Defaulter and Validator
// (admission.WithDefaulter, admission.WithValidator), the path a
// kubebuilder-scaffolded webhook takes and what most webhooks pay.
//
// The mutating side decodes the request into a typed HPA, lets the
// defaulter change it in place and answers
// PatchResponseFromRaw(raw, json.Marshal(typed)): a diff of the whole
// document the API server sent against the typed object re-encoded.
// scaleguard's mutator (package webhook) makes its patch with the same
// jsonpatch.CreatePatch, but only over the spec's members that changed, and
// drops every operation the type alone causes (internal/patch). What
// differs:
//
//   - Fields the Go types do not know (a newer API server's) are missing on
//     the re-encoded side, so the raw diff removes them. The patch used to
//     delete them; since kubernetes-sigs/controller-runtime#2982 (merged
//     October 2024; the v0.25.2 used here has it) the defaulter computes
//     a second diff, raw against the unchanged typed object, and drops the
//     removals found in both, unless DefaulterRemoveUnknownOrOmitableFields asks for the old
//     behaviour (some projects, Cluster API providers among them, set it).
//     So with v0.25's defaults unknown fields survive, at the price of a
//     second whole-document diff whenever there is one to drop; with the
//     option they are deleted. TestUnknownFields shows all three.
//   - Fields the Go types always write but the document lacks are added:
//     an HPA sent without status gets "add /status" (controller-runtime#2800).
//   - A Defaulter returns only an error, so the mutation cannot say what it
//     changed: the kubectl warnings scaleguard's mutator sends are lost.
//
// Nothing here is served by `scaleguard serve`; test/load serves it as the
// stock server to compare against.
package stock
