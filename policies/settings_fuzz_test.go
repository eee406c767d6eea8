package policies

import "testing"

// FuzzParseSettings checks that no settings file makes the parser panic and
// that whatever it accepts is valid.
func FuzzParseSettings(f *testing.F) {
	f.Add("")
	f.Add("mode: warn\nrules:\n  min-replicas: {minimum: 3}\n")
	f.Add("rules:\n  behavior-defaults:\n    behavior:\n      scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 1}]}\n")
	f.Fuzz(func(t *testing.T, data string) {
		s, err := ParseSettings([]byte(data))
		if err != nil {
			return
		}
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("accepted settings do not validate: %v", errs)
		}
	})
}
