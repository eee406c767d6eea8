package policies

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestAPIVersionRule(t *testing.T) {
	object := func(h *autoscalingv2.HorizontalPodAutoscaler) {
		q := resource.MustParse("100")
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "web"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "on"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &q},
		}}}
	}
	cpu := func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{utilizationMetric("memory", 70), utilizationMetric("cpu", 60)}
	}
	tests := map[string]struct {
		writtenAs string
		in        *autoscalingv2.HorizontalPodAutoscaler
		want      string
	}{
		"v2 is fine":    {writtenAs: "autoscaling/v2", in: hpa()},
		"unknown is v2": {in: hpa()},
		"v1 names the CPU metric": {writtenAs: "autoscaling/v1", in: hpa(cpu),
			want: "autoscaling/v1 cannot express behavior or memory targets; write apiVersion: autoscaling/v2 and replace targetCPUUtilizationPercentage with spec.metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}] (scaleguard check --fix converts it)"},
		"v2beta1 gives every metric in its v2 form, a YAML word quoted": {writtenAs: "autoscaling/v2beta1", in: hpa(object),
			want: `autoscaling/v2beta1 is not served since Kubernetes 1.25; write apiVersion: autoscaling/v2 with spec.metrics: [{type: Object, object: {describedObject: {kind: Service, name: web}, target: {type: Value, value: "100"}, metric: {name: "on"}}}] (scaleguard check --fix converts it)`},
		"v2beta2 only changes its version": {writtenAs: "autoscaling/v2beta2", in: hpa(),
			want: "autoscaling/v2beta2 is not served since Kubernetes 1.26; write apiVersion: autoscaling/v2, the spec stays as written (scaleguard check --fix converts it)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := apiVersionRule(tc.writtenAs, tc.in)
			switch {
			case tc.want == "" && f != nil:
				t.Fatalf("finding %v, want none", f)
			case tc.want == "":
			case f == nil:
				t.Fatalf("no finding, want %q", tc.want)
			case f.Message != tc.want || f.Path.String() != "apiVersion" || f.Action != Deny:
				t.Errorf("finding\n%s %s %s\nwant deny apiVersion %s", f.Action, f.Path, f.Message, tc.want)
			}
		})
	}
}
