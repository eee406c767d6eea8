package manifests

import (
	"strings"
	"testing"
)

// TestParseRefusesWhatTheWebhookRefuses: a key given twice is an error in
// YAML as in JSON (the webhook's decoder, internal/objectjson, refuses it;
// webhook.TestCheckAndServeDecodeAlike compares the two), never one of the
// values silently kept; invalid UTF-8 is refused in both forms too.
func TestParseRefusesWhatTheWebhookRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"YAML key given twice": {"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  name: b\n", `key "name" already set in map`},
		"JSON name given twice": {`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","name":"b"}}`,
			`duplicate object member name "name" within "/metadata"`},
		"YAML invalid UTF-8": {"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\xff\n", "invalid leading UTF-8 octet"},
		"JSON invalid UTF-8": {"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\xff\"}}", `invalid UTF-8 within "/metadata/name"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("in.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "in.yaml#1") {
				t.Errorf("got %v, want an error naming in.yaml#1 and %q", err, tc.want)
			}
		})
	}
	// YAML flow style is not JSON, and is read as YAML.
	docs, err := Parse("in.yaml", []byte("{apiVersion: apps/v1, kind: Deployment, metadata: {name: a}}"))
	if err != nil || len(docs) != 1 || docs[0].Name != "a" {
		t.Errorf("flow-style YAML: %v %+v", err, docs)
	}
}
