package policies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Versions of the HPA API that are no longer what a manifest should say.
const (
	apiVersionV1      = "autoscaling/v1"
	apiVersionV2beta1 = "autoscaling/v2beta1"
	apiVersionV2beta2 = "autoscaling/v2beta2"
)

// apiVersionRule refuses HPAs written in a removed or legacy form. The
// webhook learns the form from request.requestKind, since the API server
// converts a v1 object to v2 before calling it; only autoscaling/v1 can
// reach it, as the API server no longer serves v2beta1 (removed in 1.25)
// or v2beta2 (removed in 1.26). `scaleguard check` reads those from files,
// and its message gives their v2 form. hpa is the object converted to v2,
// by the API server (k8s.io/kubernetes v1.37.2 pkg/apis/autoscaling/v1/
// conversion.go) or by check's ConvertV1HPA, ConvertV2beta1HPA and
// ConvertV2beta2HPA, each naming the upstream conversion it mirrors.
func apiVersionRule(writtenAs string, hpa *autoscalingv2.HorizontalPodAutoscaler) *Finding {
	var msg string
	switch writtenAs {
	case "", "autoscaling/v2":
		return nil
	case apiVersionV1:
		// The generated admission policy words this message the same way
		// (celpolicy hpaAPIVersionRule): keep the two in step.
		target := ""
		for _, m := range hpa.Spec.Metrics {
			if m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil {
				target = fmt.Sprintf(" and replace targetCPUUtilizationPercentage with spec.metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: %d}}}]",
					*m.Resource.Target.AverageUtilization)
				break
			}
		}
		msg = fmt.Sprintf("%s cannot express behavior or memory targets; write apiVersion: autoscaling/v2%s", writtenAs, target)
	case apiVersionV2beta1:
		msg = fmt.Sprintf("%s is not served since Kubernetes 1.25; write apiVersion: autoscaling/v2 with spec.metrics: %s",
			writtenAs, flowYAML(hpa.Spec.Metrics))
	case apiVersionV2beta2:
		msg = fmt.Sprintf("%s is not served since Kubernetes 1.26; write apiVersion: autoscaling/v2, the spec stays as written", writtenAs)
		if b := hpa.Spec.Behavior; b != nil && ((b.ScaleUp != nil && b.ScaleUp.Tolerance != nil) || (b.ScaleDown != nil && b.ScaleDown.Tolerance != nil)) {
			msg += " but for the tolerance annotations, which become spec.behavior.scaleUp/scaleDown.tolerance"
		}
	default:
		msg = fmt.Sprintf("%s is not a version of the HPA API; write apiVersion: autoscaling/v2", writtenAs)
	}
	return &Finding{Rule: HPAAPIVersion, Action: Deny, Path: pathAPIVersion,
		Message: msg + " (scaleguard check --fix converts it)"}
}

// plainScalar matches the strings YAML reads back as the same string
// without quotes (names, quantities), but for the words yamlWord lists. It is
// compiled once and only read.
var plainScalar = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]*$|^[0-9]+(\.[0-9]+)?[A-Za-z]+$`)

// yamlWord reports the plain scalars YAML 1.1 reads as booleans or null.
func yamlWord(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~":
		return true
	}
	return false
}

// flowYAML writes v as one line of flow-style YAML, keys in the order of
// the Go type's fields (JSON's order), strings unquoted where YAML allows:
// the form a message can show and a user can paste.
func flowYAML(v any) string {
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var b strings.Builder
	if err := writeFlow(&b, dec); err != nil {
		return string(js)
	}
	return b.String()
}

func writeFlow(b *strings.Builder, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closing := map[json.Delim]string{'{': "}", '[': "]"}[t]
		b.WriteString(string(t))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if t == '{' {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				fmt.Fprintf(b, "%s: ", key)
			}
			if err := writeFlow(b, dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil && err != io.EOF {
			return err
		}
		b.WriteString(closing)
	case string:
		if plainScalar.MatchString(t) && !yamlWord(t) {
			b.WriteString(t)
		} else {
			q, _ := json.Marshal(t)
			b.Write(q)
		}
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprint(b, t)
	}
	return nil
}
