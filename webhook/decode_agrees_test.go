package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// TestCheckAndServeDecodeAlike feeds the same objects to `scaleguard
// check` (manifests.Parse and Check) and to `scaleguard serve` (the
// validating handlers' ServeHTTP): both read them with one decoder
// (internal/objectjson), so both refuse a name given twice and invalid
// UTF-8 with the same error, and both judge a well-formed object alike.
func TestCheckAndServeDecodeAlike(t *testing.T) {
	s := policies.Defaults()
	_, hpaValidator, workloadValidator, _ := handlers()
	hpa := strings.Replace(minimalHPA, `"maxReplicas": 8,`, `"maxReplicas": 8, "minReplicas": 2,`, 1)
	for name, tc := range map[string]struct {
		object string
		// refused is the decoder's error both must give, up to the JSON
		// pointer, and at the pointer inside the object (serve's object is
		// at /request/object); empty refused: a well-formed object.
		refused, at string
		// denied is the rule both deny a well-formed object by.
		denied string
	}{
		"name given twice in metadata": {object: strings.Replace(deploymentNoRequests, `"name": "api",`, `"name": "api", "name": "web",`, 1),
			refused: `duplicate object member name "name" within`, at: "/metadata"},
		"name given twice in an HPA's spec": {object: hpa,
			refused: `duplicate object member name "minReplicas" within`, at: "/spec"},
		"invalid UTF-8 in a container name": {object: strings.Replace(deploymentNoRequests, `"name": "api", "image"`, "\"name\": \"api\xff\", \"image\"", 1),
			refused: `invalid UTF-8 within`, at: "/spec/template/spec/containers/0/name"},
		"well-formed, without a memory request": {object: deploymentNoRequests, denied: "[requests-required]"},
	} {
		t.Run(name, func(t *testing.T) {
			isHPA := strings.Contains(tc.object, "HorizontalPodAutoscaler")
			h, kind := workloadValidator, deployment
			if isHPA {
				h, kind = hpaValidator, hpaV2
			}
			served := call(t, h, reviewOf(kind, tc.object))
			docs, err := manifests.Parse("object.json", []byte(tc.object))
			var checked manifests.Report
			if err == nil {
				checked, err = manifests.Check(docs, &s)
			}
			if tc.refused != "" {
				// The writer's mistake: refused, the object named, by both.
				if served.Allowed || served.Result.Code != http.StatusBadRequest || !strings.Contains(served.Result.Message, "request.object is not valid") {
					t.Fatalf("serve: want a 400 for the object, got %+v", served.Result)
				}
				if err == nil {
					t.Fatalf("check accepted what serve refuses: %+v", checked)
				}
				for side, want := range map[string]struct{ msg, error string }{
					"serve": {served.Result.Message, tc.refused + ` "/request/object` + tc.at + `"`},
					"check": {err.Error(), tc.refused + ` "` + tc.at + `"`},
				} {
					if !strings.Contains(want.msg, want.error) {
						t.Errorf("%s: %q does not say %q", side, want.msg, want.error)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			var checkDenial string
			for _, f := range checked.Results[0].Findings {
				if f.Action == policies.Deny {
					checkDenial += f.String() + "\n"
				}
			}
			if served.Allowed || !strings.Contains(served.Result.Message, tc.denied) || !strings.Contains(checkDenial, tc.denied) {
				t.Errorf("want both to deny by %s; serve: %+v; check: %q", tc.denied, served.Result, checkDenial)
			}
		})
	}
}
