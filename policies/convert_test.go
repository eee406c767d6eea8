package policies

import (
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// The cases below are read from k8s.io/kubernetes: v1.37.2
// pkg/apis/autoscaling/v1/conversion.go for autoscaling/v1, and v1.35.4
// (the last release with them) pkg/apis/autoscaling/v2beta1/conversion.go
// and v2beta2/conversion.go for the betas.

// wantV2 decodes the expected v2 object.
func wantV2(t *testing.T, doc string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	out := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := yaml.UnmarshalStrict([]byte("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"+doc), out); err != nil {
		t.Fatalf("expected object: %v", err)
	}
	return out
}

func assertConverted(t *testing.T, got, want *autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	if !apiequality.Semantic.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("converted:\n%s\nwant:\n%s", g, w)
	}
}

const hpaHead = `metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
`

func TestConvertV2beta1HPA(t *testing.T) {
	tests := map[string]struct {
		metadata, metrics string
		want              string
	}{
		"Resource targetAverageUtilization is a Utilization target": {
			metrics: `[{type: Resource, resource: {name: cpu, targetAverageUtilization: 70}}]`,
			want:    `[{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]`,
		},
		"Resource targetAverageValue is an AverageValue target": {
			metrics: `[{type: Resource, resource: {name: memory, targetAverageValue: 200Mi}}]`,
			want:    `[{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 200Mi}}}]`,
		},
		"Resource with neither target is an empty AverageValue target": {
			metrics: `[{type: Resource, resource: {name: cpu}}]`,
			want:    `[{type: Resource, resource: {name: cpu, target: {type: AverageValue}}}]`,
		},
		"ContainerResource keeps its container": {
			metrics: `[{type: ContainerResource, containerResource: {name: cpu, container: app, targetAverageUtilization: 60}}]`,
			want:    `[{type: ContainerResource, containerResource: {name: cpu, container: app, target: {type: Utilization, averageUtilization: 60}}}]`,
		},
		"Pods metricName, selector and targetAverageValue": {
			metrics: `[{type: Pods, pods: {metricName: http_requests, selector: {matchLabels: {a: b}}, targetAverageValue: "10"}}]`,
			want:    `[{type: Pods, pods: {metric: {name: http_requests, selector: {matchLabels: {a: b}}}, target: {type: AverageValue, averageValue: "10"}}}]`,
		},
		"Object target becomes describedObject and targetValue a Value target": {
			metrics: `[{type: Object, object: {target: {kind: Service, name: web}, metricName: hits, targetValue: "100"}}]`,
			want:    `[{type: Object, object: {describedObject: {kind: Service, name: web}, metric: {name: hits}, target: {type: Value, value: "100"}}}]`,
		},
		"Object averageValue is an AverageValue target that keeps value 0": {
			metrics: `[{type: Object, object: {target: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: web}, metricName: hits, selector: {matchLabels: {a: b}}, averageValue: "5"}}]`,
			want:    `[{type: Object, object: {describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: web}, metric: {name: hits, selector: {matchLabels: {a: b}}}, target: {type: AverageValue, value: "0", averageValue: "5"}}}]`,
		},
		"External targetValue is a Value target": {
			metrics: `[{type: External, external: {metricName: queue, metricSelector: {matchLabels: {q: jobs}}, targetValue: "30"}}]`,
			want:    `[{type: External, external: {metric: {name: queue, selector: {matchLabels: {q: jobs}}}, target: {type: Value, value: "30"}}}]`,
		},
		"External targetAverageValue is an AverageValue target": {
			metrics: `[{type: External, external: {metricName: queue, targetAverageValue: "3"}}]`,
			want:    `[{type: External, external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "3"}}}]`,
		},
		"no metrics is CPU at 80 %": {
			metrics: `[]`,
			want:    `[{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := &HPAv2beta1{}
			doc := "apiVersion: autoscaling/v2beta1\nkind: HorizontalPodAutoscaler\n" + hpaHead + "  metrics: " + tc.metrics + "\n"
			if err := yaml.UnmarshalStrict([]byte(doc), in); err != nil {
				t.Fatal(err)
			}
			assertConverted(t, ConvertV2beta1HPA(in), wantV2(t, hpaHead+"  metrics: "+tc.want+"\n"))
		})
	}
}

func TestConvertV2beta1HPABehaviorAnnotation(t *testing.T) {
	tests := map[string]struct {
		annotation string
		behavior   string
	}{
		"the annotation becomes spec.behavior": {
			annotation: `{"ScaleUp":{"StabilizationWindowSeconds":0,"Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}]}}`,
			behavior:   `{scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 4, periodSeconds: 15}]}}`,
		},
		"an annotation that does not decode is dropped": {annotation: `{not json`},
		"an empty behavior is dropped":                  {annotation: `{}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := &HPAv2beta1{}
			in.Name, in.Namespace = "web", "shop"
			in.Annotations = map[string]string{annotationBehavior: tc.annotation, "team": "a"}
			in.Spec.MaxReplicas = 10
			got := ConvertV2beta1HPA(in)
			want := wantV2(t, "metadata: {name: web, namespace: shop, annotations: {team: a}}\nspec: {maxReplicas: 10, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]}\n")
			if tc.behavior != "" {
				want = wantV2(t, "metadata: {name: web, namespace: shop, annotations: {team: a}}\nspec: {maxReplicas: 10, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}], behavior: "+tc.behavior+"}\n")
			}
			assertConverted(t, got, want)
		})
	}
}

func TestConvertV1HPA(t *testing.T) {
	tests := map[string]struct {
		annotations string
		cpu         string
		want        string
	}{
		"targetCPUUtilizationPercentage is a CPU Utilization metric": {
			cpu:  "targetCPUUtilizationPercentage: 60",
			want: `metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}]`,
		},
		"no target is CPU at 80 %": {
			want: `metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]`,
		},
		"the metrics annotation comes first, the CPU target last": {
			annotations: `{autoscaling.alpha.kubernetes.io/metrics: '[{"type":"Resource","resource":{"name":"memory","targetAverageUtilization":70}}]'}`,
			cpu:         "targetCPUUtilizationPercentage: 60",
			want: `metrics: [{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}},
    {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}]`,
		},
		"an object metric of the annotation drops a zero value beside averageValue": {
			annotations: `{autoscaling.alpha.kubernetes.io/metrics: '[{"type":"Object","object":{"target":{"kind":"Service","name":"web"},"metricName":"hits","targetValue":"0","averageValue":"5"}}]'}`,
			want:        `metrics: [{type: Object, object: {describedObject: {kind: Service, name: web}, metric: {name: hits}, target: {type: AverageValue, averageValue: "5"}}}]`,
		},
		"a metrics annotation that does not decode is dropped": {
			annotations: `{autoscaling.alpha.kubernetes.io/metrics: '[{'}`,
			cpu:         "targetCPUUtilizationPercentage: 60",
			want:        `metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}]`,
		},
		"the behavior annotation becomes spec.behavior": {
			annotations: `{autoscaling.alpha.kubernetes.io/behavior: '{"ScaleDown":{"SelectPolicy":"Disabled"}}', autoscaling.alpha.kubernetes.io/conditions: '[]'}`,
			want: `metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
  behavior: {scaleDown: {selectPolicy: Disabled}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			meta := "metadata: {name: web, namespace: shop}\n"
			if tc.annotations != "" {
				meta = "metadata: {name: web, namespace: shop, annotations: " + tc.annotations + "}\n"
			}
			in := &autoscalingv1.HorizontalPodAutoscaler{}
			doc := "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\n" + meta + strings.TrimPrefix(hpaHead, "metadata: {name: web, namespace: shop}\n") + "  " + tc.cpu + "\n"
			if err := yaml.UnmarshalStrict([]byte(doc), in); err != nil {
				t.Fatal(err)
			}
			assertConverted(t, ConvertV1HPA(in), wantV2(t, hpaHead+"  "+tc.want+"\n"))
		})
	}
}

func TestConvertV2beta2HPA(t *testing.T) {
	tests := map[string]struct {
		annotations, behavior string
		want                  string
		err                   string
	}{
		"the spec is kept": {
			behavior: `{scaleDown: {stabilizationWindowSeconds: 300}}`,
			want:     `behavior: {scaleDown: {stabilizationWindowSeconds: 300}}`,
		},
		"the tolerance annotations become tolerances": {
			annotations: `{autoscaling.alpha.kubernetes.io/scale-up-tolerance: "0.05", autoscaling.alpha.kubernetes.io/scale-down-tolerance: 200m}`,
			behavior:    `{scaleDown: {stabilizationWindowSeconds: 300}}`,
			want:        `behavior: {scaleDown: {stabilizationWindowSeconds: 300, tolerance: 200m}, scaleUp: {tolerance: "0.05"}}`,
		},
		"a tolerance in the spec is not a v2beta2 field": {
			behavior: `{scaleUp: {tolerance: "0.5", stabilizationWindowSeconds: 0}}`,
			want:     `behavior: {scaleUp: {stabilizationWindowSeconds: 0}}`,
		},
		"a tolerance annotation that is not a quantity is refused": {
			annotations: `{autoscaling.alpha.kubernetes.io/scale-up-tolerance: fast}`,
			err:         `metadata.annotations[autoscaling.alpha.kubernetes.io/scale-up-tolerance]: "fast" is not a quantity`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			meta := "metadata: {name: web, namespace: shop}\n"
			if tc.annotations != "" {
				meta = "metadata: {name: web, namespace: shop, annotations: " + tc.annotations + "}\n"
			}
			spec := strings.TrimPrefix(hpaHead, "metadata: {name: web, namespace: shop}\n")
			if tc.behavior != "" {
				spec += "  behavior: " + tc.behavior + "\n"
			}
			in := wantV2(t, meta+spec)
			got, err := ConvertV2beta2HPA(in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertConverted(t, got, wantV2(t, hpaHead+"  "+tc.want+"\n"))
		})
	}
}
