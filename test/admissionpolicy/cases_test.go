package admissionpolicy

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/manifests"
)

// A testCase is one write both engines judge: a server-side dry-run
// create of obj or, when stored is set, a dry-run update of the stored
// object (created before either engine was installed) to obj.
type testCase struct {
	name   string
	obj    string
	stored string
}

// Namespaces the cases use, with their labels, and the objects they hold
// before any engine is installed.
var namespaces = map[string]map[string]string{
	"shop": nil, "jobs": nil, "analytics": nil, "batch": nil, "ops": nil, // examples/
	"rules": nil, "limits": nil, "existing": nil,
	"opted-out": {"scaleguard.io/ignore": "true"},
}

// limitRange fills cpu and memory requests in namespace limits (the
// requests_test.go case "LimitRange defaultRequest and default fill
// requests").
const limitRange = `apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: limits}
spec:
  limits:
  - type: Container
    defaultRequest: {cpu: 100m}
    default: {memory: 256Mi}
`

// deployment is a Deployment named name in namespace ns whose pod spec
// is the YAML podSpec (indented by six spaces below "spec:").
func deployment(ns, name, annotations, podSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
  annotations: {%[3]s}
spec:
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
%[4]s`, ns, name, annotations, indent(podSpec, 6))
}

// hpa is an autoscaling/v2 HPA named name in namespace rules with the
// YAML spec (below the scale target).
func hpa(name, metadata, spec string) string {
	return fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: %[1]s
  namespace: rules
%[2]sspec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
%[3]s`, name, indent(metadata, 2), indent(spec, 2))
}

func indent(s string, n int) string {
	if s == "" {
		return ""
	}
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return pad + strings.Join(lines, "\n"+pad) + "\n"
}

const (
	both     = "{requests: {cpu: 100m, memory: 128Mi}}"
	standard = `behavior:
  scaleDown:
    stabilizationWindowSeconds: 300
    policies: [{type: Percent, value: 50, periodSeconds: 60}]
  scaleUp:
    stabilizationWindowSeconds: 0
    selectPolicy: Max
    policies: [{type: Percent, value: 100, periodSeconds: 30}, {type: Pods, value: 2, periodSeconds: 30}]
`
	cpuAndMemory = `metrics:
- {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}
- {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}
`
	external = `- {type: External, external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "10"}}}
`
)

// v1Exempt is the case of a documented difference: an autoscaling/v1
// request that hpa-api-version does not refuse, which no mutating policy
// can patch.
const v1Exempt = "v1 request exempt from hpa-api-version"

// ruleCases are the objects policies/*_test.go judge for the rules the
// export covers (requests_test.go, hpa_rules_test.go, consistency_test.go,
// the exemption and allowExistingViolations cases), written as a client
// would, and the cases of the documented differences.
func ruleCases() []testCase {
	app := func(resources string) string {
		return "{name: app, image: example.com/app:1, resources: " + resources + "}"
	}
	manyContainers := "containers:\n"
	for i := range 12 {
		manyContainers += fmt.Sprintf("- {name: c%d, image: example.com/app:1}\n", i)
	}
	nothing := "containers: [" + app("{}") + "]"
	cases := []testCase{
		// requests_test.go
		{"all requested", deployment("rules", "all-requested", "", "containers: ["+app(both)+"]"), ""},
		{"nothing requested", deployment("rules", "nothing", "", nothing), ""},
		{"second container misses memory", deployment("rules", "second", "", "containers: ["+app(both)+", {name: proxy, image: example.com/proxy:1, resources: {requests: {cpu: 10m}}}]"), ""},
		{"plain init container needs none", deployment("rules", "plain-init", "", "initContainers: [{name: migrate, image: example.com/m:1}]\ncontainers: ["+app(both)+"]"), ""},
		{"sidecar init container needs requests", deployment("rules", "sidecar", "",
			"initContainers: [{name: migrate, image: example.com/m:1}, {name: envoy, image: example.com/envoy:1, restartPolicy: Always}]\ncontainers: ["+app(both)+"]"), ""},
		{"limit without request warns", deployment("rules", "limit-only", "", "containers: ["+app("{requests: {cpu: 100m}, limits: {memory: 1Gi}}")+"]"), ""},
		{"zero request is refused", deployment("rules", "zero", "", "containers: ["+app(`{requests: {cpu: "0", memory: 1Gi}}`)+"]"), ""},
		{"pod-level requests replace container requests", deployment("rules", "pod-level", "",
			"resources: "+both+"\ncontainers: ["+app("{}")+", {name: proxy, image: example.com/proxy:1}]"), ""},
		{"pod-level limits only warn", deployment("rules", "pod-limits", "", "resources: {limits: {cpu: 100m, memory: 128Mi}}\ncontainers: ["+app("{}")+"]"), ""},
		{"LimitRange defaultRequest and default fill requests", deployment("limits", "filled", "", nothing), ""},
		{"StatefulSet without requests", strings.Replace(strings.Replace(deployment("rules", "stateful", "", nothing), "kind: Deployment", "kind: StatefulSet", 1),
			"spec:\n  selector", "spec:\n  serviceName: stateful\n  selector", 1), ""},
		{"twelve containers without requests", deployment("rules", "twelve", "", manyContainers), ""},

		// exemptions (hpa_rules_test.go TestExemptions)
		{"exempt with reason", deployment("rules", "exempt", `scaleguard.io/exempt: requests-required, scaleguard.io/exempt-reason: vendor image`, nothing), ""},
		{"exempt all with reason", deployment("rules", "exempt-all", `scaleguard.io/exempt: "*", scaleguard.io/exempt-reason: vendor image`, nothing), ""},
		{"exempt without reason is ignored", deployment("rules", "no-reason", `scaleguard.io/exempt: requests-required`, nothing), ""},
		{"unknown rule is reported, known one honoured", deployment("rules", "unknown-rule",
			`scaleguard.io/exempt: "requests-required, request-required", scaleguard.io/exempt-reason: x`, nothing), ""},
		{"exempt namespace", deployment("kube-system", "nothing", "", nothing), ""},
		{"opted-out namespace", deployment("opted-out", "nothing", "", nothing), ""},

		// allowExistingViolations (TestAllowExistingViolations)
		{"update of an old violator warns", deployment("existing", "violator", "touched: x", nothing), deployment("existing", "violator", "", nothing)},
		{"a new violation in an old violator denies", deployment("existing", "worse", "", "containers: ["+app("{}")+", {name: new, image: example.com/new:1}]"),
			deployment("existing", "worse", "", nothing)},
		{"update that breaks a compliant one denies", deployment("existing", "compliant", "", nothing), deployment("existing", "compliant", "", "containers: ["+app(both)+"]")},
		{"update of an HPA that could never scale up", hpa("old-disabled", "", "minReplicas: 2\nmaxReplicas: 11\n"+cpuAndMemory+strings.Replace(standard, "selectPolicy: Max", "selectPolicy: Disabled", 1)),
			hpa("old-disabled", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+strings.Replace(standard, "selectPolicy: Max", "selectPolicy: Disabled", 1))},

		// hpa_rules_test.go
		{"standard HPA is left alone", hpa("standard", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+standard), ""},
		{"minReplicas absent is raised", hpa("min-absent", "", "maxReplicas: 10\n"+cpuAndMemory+standard), ""},
		{"minReplicas above the minimum is kept", hpa("min-5", "", "minReplicas: 5\nmaxReplicas: 10\n"+cpuAndMemory+standard), ""},
		{"maxReplicas below the minimum is refused", hpa("max-1", "", "minReplicas: 1\nmaxReplicas: 1\n"+cpuAndMemory+standard), ""},
		{"no memory metric gets one appended", hpa("no-memory", "", "minReplicas: 2\nmaxReplicas: 10\nmetrics:\n- {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}\n"+standard), ""},
		{"no metrics at all", hpa("no-metrics", "", "minReplicas: 2\nmaxReplicas: 10\n"+standard), ""},
		{"ContainerResource memory counts", hpa("container-memory", "", "minReplicas: 2\nmaxReplicas: 10\nmetrics:\n"+
			"- {type: ContainerResource, containerResource: {name: memory, container: app, target: {type: Utilization, averageUtilization: 75}}}\n"+standard), ""},
		{"external-only HPA also gets memory", hpa("external-only", "", "minReplicas: 2\nmaxReplicas: 10\nmetrics:\n"+external+standard), ""},
		{"no behavior gets the standard", hpa("no-behavior", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory), ""},
		{"both directions at Kubernetes defaults count as unset", hpa("kube-defaults", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+`behavior:
  scaleUp:
    stabilizationWindowSeconds: 0
    selectPolicy: Max
    policies: [{type: Pods, value: 4, periodSeconds: 15}, {type: Percent, value: 100, periodSeconds: 15}]
  scaleDown:
    selectPolicy: Max
    policies: [{type: Percent, value: 100, periodSeconds: 15}]
`), ""},
		{"a user's scaleDown is kept, its nil window written out, scaleUp replaced", hpa("user-scaledown", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+`behavior:
  scaleDown:
    selectPolicy: Max
    policies: [{type: Pods, value: 1, periodSeconds: 60}]
`), ""},
		{"only a nil scale-down window is filled", hpa("nil-window", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+
			strings.Replace(strings.Replace(standard, "    stabilizationWindowSeconds: 300\n", "", 1), "value: 50", "value: 20", 1)), ""},
		{"v1 request is refused with the v2 form", `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: v1, namespace: rules}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: v1}
  minReplicas: 2
  maxReplicas: 10
  targetCPUUtilizationPercentage: 70
`, ""},
		{"maxReplicas below the minimum and scale-up Disabled: two rules refuse", hpa("two-rules", "", "minReplicas: 0\nmaxReplicas: 1\n"+cpuAndMemory+external+
			strings.Replace(standard, "selectPolicy: Max", "selectPolicy: Disabled", 1)), ""},
		{v1Exempt, `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: v1-exempt
  namespace: rules
  annotations: {scaleguard.io/exempt: hpa-api-version, scaleguard.io/exempt-reason: migrating}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: v1-exempt}
  maxReplicas: 10
  targetCPUUtilizationPercentage: 70
`, ""},
		{"an HPA KEDA owns is not mutated", hpa("keda", "ownerReferences: [{apiVersion: keda.sh/v1alpha1, kind: ScaledObject, name: keda, uid: 6f1c2a3e-0000-4000-8000-000000000001}]\n",
			"minReplicas: 1\nmaxReplicas: 10\nmetrics:\n- {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}\n"), ""},
		{"HPA exempt from the mutate rules", hpa("exempt-mutations", "annotations: {scaleguard.io/exempt: \"min-replicas,memory-target,behavior-defaults\", scaleguard.io/exempt-reason: test}\n",
			"maxReplicas: 10\n"), ""},

		// consistency_test.go
		{"scale-up Disabled is refused", hpa("up-disabled", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+strings.Replace(standard, "selectPolicy: Max", "selectPolicy: Disabled", 1)), ""},
		{"scale-down Disabled is refused", hpa("down-disabled", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+
			strings.Replace(standard, "    stabilizationWindowSeconds: 300\n", "    stabilizationWindowSeconds: 300\n    selectPolicy: Disabled\n", 1)), ""},
		{"Percent-only scale-up from zero is refused", hpa("from-zero", "", "minReplicas: 0\nmaxReplicas: 10\n"+cpuAndMemory+external+
			strings.Replace(standard, ", {type: Pods, value: 2, periodSeconds: 30}", "", 1)), ""},
		{"selectPolicy Min from zero is refused", hpa("from-zero-min", "", "minReplicas: 0\nmaxReplicas: 10\n"+cpuAndMemory+external+
			strings.Replace(standard, "selectPolicy: Max", "selectPolicy: Min", 1)), ""},
		{"a scale-down tolerance of 1 can never be left", hpa("tolerance", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+
			strings.Replace(standard, "    stabilizationWindowSeconds: 300\n", "    stabilizationWindowSeconds: 300\n    tolerance: \"1.5\"\n", 1)), ""},
		{"slow scale-up warns with the computed time", hpa("slow-up", "", "minReplicas: 2\nmaxReplicas: 40\n"+cpuAndMemory+
			strings.Replace(standard, "[{type: Percent, value: 100, periodSeconds: 30}, {type: Pods, value: 2, periodSeconds: 30}]", "[{type: Pods, value: 1, periodSeconds: 120}]", 1)), ""},
		{"slow scale-down warns", hpa("slow-down", "", "minReplicas: 2\nmaxReplicas: 100\n"+cpuAndMemory+
			strings.Replace(standard, "[{type: Percent, value: 50, periodSeconds: 60}]", "[{type: Pods, value: 1, periodSeconds: 60}]", 1)), ""},
		{"inverted windows warn", hpa("inverted", "", "minReplicas: 2\nmaxReplicas: 10\n"+cpuAndMemory+
			strings.Replace(strings.Replace(standard, "stabilizationWindowSeconds: 0", "stabilizationWindowSeconds: 120", 1), "stabilizationWindowSeconds: 300", "stabilizationWindowSeconds: 60", 1)), ""},
		{"min equal to max warns", hpa("pinned", "", "minReplicas: 2\nmaxReplicas: 2\n"+cpuAndMemory+standard), ""},
		{"max below min is left to the API server", hpa("max-below-min", "", "minReplicas: 5\nmaxReplicas: 3\n"+cpuAndMemory+standard), ""},
	}
	return cases
}

// exampleCases are the Deployments, StatefulSets and HPAs of examples/;
// setup gets the other objects (the LimitRange of 07), created before
// either engine is installed.
func exampleCases(t *testing.T) (cases []testCase, setup []string) {
	t.Helper()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := manifests.Load(files, nil)
	if err != nil || len(docs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, d := range docs {
		switch d.Kind {
		case "Deployment", "StatefulSet", "HorizontalPodAutoscaler":
			cases = append(cases, testCase{name: d.Source + ": " + d.Kind + " " + d.Name, obj: string(d.Raw)})
		default:
			setup = append(setup, string(d.Raw))
		}
	}
	return cases, setup
}
