// Package objectjson is the one JSON decoder of Kubernetes objects that
// both `scaleguard serve` (the webhook reading an AdmissionReview) and
// `scaleguard check` (manifests read from files) use, so that the two
// agree on what an object says and on which objects are malformed.
//
// It is encoding/json/v2 (github.com/go-json-experiment/json, the standard
// library's package from Go 1.27): field names matched case sensitively
// and unknown fields ignored, as the API server reads objects, in one pass
// over the input, where encoding/json (and sigs.k8s.io/json, its fork)
// checks the whole input first and then decodes it. It refuses two things
// encoding/json lets through: a name given twice in one object (which of
// the two values counts depends on the tool; the API server's strict field
// validation, kubectl's default, refuses it too) and invalid UTF-8 (which
// encoding/json silently replaces).
package objectjson

import (
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// strict are the options every object is decoded with. They are
// encoding/json/v2's defaults, spelled out because they are the contract
// between check and serve.
var strict = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
)

// Unmarshal decodes data into v. opts come after the strict options; the
// webhook relaxes them only to tell a malformed object from a malformed
// review around it.
func Unmarshal(data []byte, v any, opts ...json.Options) error {
	return json.Unmarshal(data, v, append([]json.Options{strict}, opts...)...)
}

// Check reports why data is not one JSON value Unmarshal accepts: its
// syntax, a name given twice, invalid UTF-8.
func Check(data []byte) error {
	var v jsontext.Value
	return Unmarshal(data, &v)
}

// IsJSON reports whether data is JSON text, even with a name given twice
// or invalid UTF-8: a manifest written in JSON, which `scaleguard check`
// checks with Check so that it refuses it as the webhook would, rather
// than as its YAML reader would.
func IsJSON(data []byte) bool {
	return jsontext.Value(data).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}
