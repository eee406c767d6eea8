package patch

import (
	"encoding/json"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	kjson "sigs.k8s.io/json"
)

// FuzzForDocument diffs two HPA specs as the webhook does: the patch
// applies to the first spec's document, turns it into the second spec, and
// leaves a field the type does not know where it was.
func FuzzForDocument(f *testing.F) {
	small := `{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"maxReplicas":10,` +
		`"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}`
	standard := `{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"minReplicas":2,"maxReplicas":10,` +
		`"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}},` +
		`{"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":80}}}],` +
		`"behavior":{"scaleUp":{"stabilizationWindowSeconds":0,"selectPolicy":"Max","policies":[{"type":"Percent","value":100,"periodSeconds":15},{"type":"Pods","value":4,"periodSeconds":15}]},` +
		`"scaleDown":{"stabilizationWindowSeconds":300,"policies":[{"type":"Percent","value":10,"periodSeconds":60}],"tolerance":"50m"}}}`
	f.Add(small, standard)
	f.Add(standard, small)
	f.Add(`{}`, small)
	f.Add(small, `{}`)
	f.Add(`{"metrics":[]}`, `{"metrics":null}`)
	f.Add(`{"behavior":{}}`, `{"behavior":{"scaleUp":{"policies":[]}}}`)
	f.Add(`{"metrics":[{"type":"External","external":{"metric":{"name":"q","selector":{"matchLabels":{"a":"b"}}},"target":{"type":"Value","value":"1k"}}}]}`,
		`{"metrics":[{"type":"External","external":{"metric":{"name":"q","selector":{"matchLabels":{"a/b":"c~"}}},"target":{"type":"Value","value":"1000"}}}]}`)
	f.Fuzz(func(t *testing.T, from, to string) {
		var before, after autoscalingv2.HorizontalPodAutoscalerSpec
		if kjson.UnmarshalCaseSensitivePreserveInts([]byte(from), &before) != nil ||
			kjson.UnmarshalCaseSensitivePreserveInts([]byte(to), &after) != nil {
			t.Skip()
		}
		raw := strings.TrimSpace(from)
		if !strings.HasPrefix(raw, "{") {
			t.Skip()
		}
		// A field of a newer API server, unknown to the type.
		if strings.HasPrefix(strings.TrimSpace(raw[1:]), "}") {
			raw = `{"zzFuture":1}`
		} else {
			raw = `{"zzFuture":1,` + raw[1:]
		}
		doc := `{"spec":` + raw + `,"status":{"x":1}}`
		type object struct {
			Spec autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
		}
		ops, err := ForDocument([]byte(doc), object{before}, object{after})
		if err != nil {
			t.Fatal(err)
		}
		out := []byte(doc)
		if len(ops) > 0 {
			if out, err = Apply(out, ops); err != nil {
				opsJSON, _ := json.Marshal(ops)
				t.Fatalf("patch %s does not apply to %s: %v", opsJSON, doc, err)
			}
		}
		var got struct {
			Spec struct {
				autoscalingv2.HorizontalPodAutoscalerSpec `json:",inline"`
				Future                                    *int `json:"zzFuture"`
			} `json:"spec"`
			Status map[string]int `json:"status"`
		}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(out, &got); err != nil {
			t.Fatalf("patched document: %v\n%s", err, out)
		}
		gotJSON, _ := json.Marshal(got.Spec.HorizontalPodAutoscalerSpec)
		wantJSON, _ := json.Marshal(after)
		if string(gotJSON) != string(wantJSON) {
			opsJSON, _ := json.Marshal(ops)
			t.Fatalf("patched spec\n%s\nwant\n%s\nops %s", gotJSON, wantJSON, opsJSON)
		}
		if got.Spec.Future == nil || *got.Spec.Future != 1 || got.Status["x"] != 1 {
			opsJSON, _ := json.Marshal(ops)
			t.Fatalf("unknown fields lost: %s\nops %s", out, opsJSON)
		}
	})
}
