package apibench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/test/harness"
)

// A benchmark that only times creates would not notice a configuration that
// admits too much: matchConditions that skip a violation, or CEL policies
// that store an HPA without the standard's mutations. The checks here read
// what each create was told and what was stored.

// violatingAt marks the objects of the mixed stream that break
// requests-required: every 20th, 5 %.
func violatingAt(i int) bool { return i%20 == 19 }

// scaleguardRefusal is what the API server answers when scaleguard refuses
// Deployment ns/name for its requests: the webhook's full message.
func scaleguardRefusal(ns, name string) []string {
	return []string{
		`admission webhook "workload.validate.scaleguard.io" denied the request: scaleguard refused Deployment ` + ns + "/" + name + ": ",
		"[requests-required] spec.template.spec.containers[0].resources.requests",
	}
}

// policyRefusal is what the API server answers when requestsPolicy refuses
// a Deployment.
func policyRefusal(_, _ string) []string {
	p, b := requestsPolicy()
	return []string{fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", p.Name, b.Name, p.Spec.Validations[0].Message)}
}

// celPolicyRefusal is what the API server answers when scaleguard's
// exported ValidatingAdmissionPolicy for requests-required refuses
// Deployment ns/name: the webhook's message, from the policy.
func celPolicyRefusal(ns, name string) []string {
	return []string{
		"ValidatingAdmissionPolicy 'scaleguard-requests-required' with binding 'scaleguard-requests-required' denied request: " +
			"scaleguard refused Deployment " + ns + "/" + name + ": ",
		"[requests-required] spec.template.spec.containers[0].resources.requests",
	}
}

// verdicts counts what the creates of mixed streams were told.
type verdicts struct {
	violating, refused  int // violating creates, and those refused with the expected message
	compliant, admitted int // compliant creates, and those admitted
	sample              string
}

// add counts one run's answers, errs[i] for object i, and returns those
// that were wrong: a violation admitted where refusal expects a refusal, a
// refusal with another message, a compliant create refused. A nil refusal
// expects every create admitted.
func (v *verdicts) add(ns string, errs []error, refusal func(ns, name string) []string) (wrong []string) {
	for i, err := range errs {
		n := name(i)
		if !violatingAt(i) {
			v.compliant++
			if err == nil {
				v.admitted++
			} else {
				wrong = append(wrong, fmt.Sprintf("compliant %s/%s refused: %v", ns, n, err))
			}
			continue
		}
		v.violating++
		switch {
		case refusal == nil && err == nil:
		case refusal == nil:
			wrong = append(wrong, fmt.Sprintf("%s/%s refused with no policy: %v", ns, n, err))
		case err == nil:
			wrong = append(wrong, fmt.Sprintf("violating %s/%s admitted", ns, n))
		case containsAll(err.Error(), refusal(ns, n)):
			v.refused++
			if v.sample == "" {
				v.sample = err.Error()
			}
		default:
			wrong = append(wrong, fmt.Sprintf("violating %s/%s refused without the expected message %q: %v", ns, n, refusal(ns, n), err))
		}
	}
	return wrong
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// bareHPAs is how many HPAs a configuration that mutates gets to create
// bare after each HPA run, untimed.
const bareHPAs = 20

// bareHPA is the benchmark's HPA as a user writes it: a CPU target and
// nothing of what the standard adds (minReplicas, a memory target,
// behavior).
func bareHPA(ns, name string) *autoscalingv2.HorizontalPodAutoscaler {
	h := harness.HPA(ns, name)
	h.Spec.MinReplicas, h.Spec.Behavior, h.Spec.Metrics = nil, nil, h.Spec.Metrics[:1]
	return h
}

// standardSpec creates the benchmark's HPA in ns while nothing is
// installed and returns its spec as stored: what every configuration must
// store, for a compliant HPA and for a bare one it mutates.
func standardSpec(t *testing.T, c client.Client, ns string) autoscalingv2.HorizontalPodAutoscalerSpec {
	t.Helper()
	ctx := context.Background()
	h := harness.HPA(ns, "standard")
	if err := c.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(h), h); err != nil {
		t.Fatal(err)
	}
	memory := false
	for _, m := range h.Spec.Metrics {
		memory = memory || (m.Resource != nil && m.Resource.Name == "memory")
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 2 || !memory || h.Spec.Behavior == nil {
		t.Fatalf("the standard HPA is stored without minReplicas 2, a memory target or a behavior: %s", specJSON(h.Spec))
	}
	return h.Spec
}

// hpaCheck counts the HPAs a configuration's runs stored.
type hpaCheck struct {
	stored, standard int // HPAs of the timed runs, and those stored as the standard
	bare, mutated    int // HPAs created bare, and those stored as the standard
}

// readBack lists the HPAs of ns and counts, into c, those stored as want
// (their scale target's name aside), the bare ones (named bare-…) apart.
// It returns a description of each HPA stored otherwise.
func readBack(ctx context.Context, cl client.Client, ns string, want autoscalingv2.HorizontalPodAutoscalerSpec, c *hpaCheck) ([]string, error) {
	var list autoscalingv2.HorizontalPodAutoscalerList
	if err := cl.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var wrong []string
	for _, h := range list.Items {
		got := h.Spec.DeepCopy()
		got.ScaleTargetRef.Name = want.ScaleTargetRef.Name
		ok := apiequality.Semantic.DeepEqual(*got, want)
		if strings.HasPrefix(h.Name, "bare-") {
			c.bare++
			if ok {
				c.mutated++
			}
		} else {
			c.stored++
			if ok {
				c.standard++
			}
		}
		if !ok {
			wrong = append(wrong, fmt.Sprintf("HPA %s/%s stored as %s, not as the standard %s", ns, h.Name, specJSON(*got), specJSON(want)))
		}
	}
	return wrong, nil
}

func specJSON(s autoscalingv2.HorizontalPodAutoscalerSpec) string {
	b, _ := json.Marshal(s)
	return string(b)
}
