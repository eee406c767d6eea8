package celpolicy

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/utils/ptr"
	kjson "sigs.k8s.io/json"

	"github.com/scaleguard/scaleguard/internal/realworld"
	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// The API server's own CEL compiler and matcher judge the conditions here:
// the same code that runs them in kube-apiserver (k8s.io/apiserver's
// matchconditions), at the pinned version. test/e2e runs them through a real
// API server as well.

// oldestServer is the oldest Kubernetes whose API server must accept the
// conditions: matchConditions are GA from 1.30, and a new expression is
// compiled with the libraries of the version before the server's own.
var oldestServer = version.MajorMinor(1, 30)

// matcher compiles webhook w's conditions under s, first as a 1.30 API
// server checks a new configuration (and so failing the test on an
// expression it would refuse), then as the pinned one runs stored ones.
func matcher(t testing.TB, w Webhook, s *policies.Settings) matchconditions.Matcher {
	t.Helper()
	return matcherOf(t, w, MatchConditions(w, s))
}

// matcherOf compiles conds as the API server does, on the oldest server
// scaleguard supports and today's.
func matcherOf(t testing.TB, w Webhook, conds []admissionregistrationv1.MatchCondition) matchconditions.Matcher {
	t.Helper()
	if len(conds) > 64 {
		t.Fatalf("%s: %d conditions, the API server allows 64", w, len(conds))
	}
	accessors := make([]plugincel.ExpressionAccessor, len(conds))
	for i, c := range conds {
		accessors[i] = &matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression}
	}
	decls := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	for _, ver := range []*version.Version{oldestServer, environment.DefaultCompatibilityVersion()} {
		compiled := plugincel.NewConditionCompiler(environment.MustBaseEnvSet(ver)).CompileCondition(accessors, decls, environment.NewExpressions)
		if len(compiled.CompilationErrors()) > 0 {
			t.Fatalf("%s: a %s API server refuses the conditions: %v\n%s", w, ver, compiled.CompilationErrors(), expressions(conds))
		}
	}
	fail := admissionregistrationv1.Fail
	filter := plugincel.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())).
		CompileCondition(accessors, decls, environment.StoredExpressions)
	return matchconditions.NewMatcher(filter, &fail, "webhook", "test", string(w))
}

func expressions(conds []admissionregistrationv1.MatchCondition) string {
	var b strings.Builder
	for _, c := range conds {
		b.WriteString(c.Name + ": " + c.Expression + "\n")
	}
	return b.String()
}

// call says whether the API server would call the webhook for one write;
// a condition that fails to evaluate fails the test.
type call struct {
	op          admission.Operation
	obj, old    runtime.Object
	namespace   string
	requestKind schema.GroupVersionKind
}

func (c call) matches(t testing.TB, m matchconditions.Matcher) bool {
	t.Helper()
	kind := c.obj.GetObjectKind().GroupVersionKind()
	if kind.Empty() {
		switch c.obj.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			kind = autoscalingv2.SchemeGroupVersion.WithKind(policies.KindHPA)
		case *appsv1.StatefulSet:
			kind = appsv1.SchemeGroupVersion.WithKind(policies.KindStatefulSet)
		default:
			kind = appsv1.SchemeGroupVersion.WithKind(policies.KindDeployment)
		}
	}
	rk := c.requestKind
	if rk.Empty() {
		rk = kind
	}
	ns := c.namespace
	if ns == "" {
		ns = "shop"
	}
	attrs := admission.NewAttributesRecord(c.obj, c.old, rk, ns, "x", schema.GroupVersionResource{}, "", c.op, nil, false, nil)
	va := &admission.VersionedAttributes{Attributes: attrs, VersionedKind: kind,
		VersionedObject: admission.NewLazyObject(c.obj)}
	if c.old != nil {
		va.VersionedOldObject = admission.NewLazyObject(c.old)
	}
	r := m.Match(context.Background(), va, nil, nil)
	if r.Error != nil {
		t.Fatalf("a condition failed to evaluate (the API server would apply the failure policy): %v", r.Error)
	}
	return r.Matches
}

// corpus is every Deployment, StatefulSet and HPA of examples/ and of the
// real-world manifests, as the API server hands them to webhooks (after
// its defaults, so HPAs have minReplicas and metrics, workloads a replica
// count), plus the objects of the rule tests' kinds written here.
func corpus(t testing.TB) (workloads []runtime.Object, hpas []*autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 8 {
		t.Fatalf("only %d files in examples/", len(files))
	}
	corpusDir := realworld.Dir()
	if corpusDir == "" {
		t.Logf("the real-world corpus (shared/realworld beside an ancestor of the repository, or $%s) is not here: judging examples/ and the rule tests' objects only", realworld.Env)
	} else {
		m, _ := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
		if len(m) < realworld.MinFiles {
			t.Fatalf("%s: only %d manifest files", corpusDir, len(m))
		}
		files = append(files, m...)
	}
	// manifests.Load reads them as `scaleguard check` does: every
	// document of every file, List items included.
	docs, err := manifests.Load(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(d manifests.Document, into any) {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(d.JSON, into); err != nil {
			t.Fatalf("%s: %v", d.Source, err)
		}
	}
	for _, d := range docs {
		switch {
		case d.APIVersion == "apps/v1" && (d.Kind == policies.KindDeployment || d.Kind == policies.KindStatefulSet):
			var obj runtime.Object = &appsv1.Deployment{}
			if d.Kind == policies.KindStatefulSet {
				obj = &appsv1.StatefulSet{}
			}
			decode(d, obj)
			// The API server defaults an absent replica count to 1.
			if w, _ := policies.WorkloadOf(obj); w.Replicas == nil {
				obj = withReplicas(obj, 1)
			}
			workloads = append(workloads, obj)
		case d.APIVersion == "autoscaling/v1" && d.Kind == policies.KindHPA:
			h := &autoscalingv1.HorizontalPodAutoscaler{}
			decode(d, h)
			v2 := policies.ConvertV1HPA(h)
			policies.ApplyAPIServerDefaults(v2)
			hpas = append(hpas, v2)
		case d.APIVersion == "autoscaling/v2" && d.Kind == policies.KindHPA:
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			decode(d, h)
			policies.ApplyAPIServerDefaults(h)
			hpas = append(hpas, h)
		}
	}
	if corpusDir != "" && (len(workloads) < 20 || len(hpas) < 40) {
		t.Fatalf("corpus too small: %d workloads, %d HPAs", len(workloads), len(hpas))
	}
	return append(workloads, oddWorkloads()...), append(hpas, oddHPAs()...)
}

func container(name string, req, lim corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Image: "app:1", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func deployment(containers []corev1.Container, init ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: containers, InitContainers: init}}},
	}
}

// oddWorkloads are the cases of requests_test.go and cluster_rules_test.go
// that decide a verdict: zero requests, limits only, sidecars, plain init
// containers, pod-level requests, limits equal to requests in other units.
func oddWorkloads() []runtime.Object {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := container("proxy", nil, nil)
	sidecar.RestartPolicy = &always
	plainInit := container("migrate", nil, nil)
	podLevel := deployment([]corev1.Container{container("app", nil, nil)})
	podLevel.Spec.Template.Spec.Resources = &corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi")}
	cappedPodLevel := deployment([]corev1.Container{container("app", rl("cpu", "1", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))})
	cappedPodLevel.Spec.Template.Spec.Resources = &corev1.ResourceRequirements{Requests: rl("cpu", "2")}
	return []runtime.Object{
		deployment(nil),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)}),
		deployment([]corev1.Container{container("app", rl("cpu", "0", "memory", "128Mi"), nil)}),
		deployment([]corev1.Container{container("app", rl("cpu", "0m", "memory", "0Gi"), nil)}),
		deployment([]corev1.Container{container("app", nil, rl("cpu", "1", "memory", "1Gi"))}),
		deployment([]corev1.Container{container("app", rl("cpu", "100m"), nil)}),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), rl("cpu", "1"))}),
		deployment([]corev1.Container{container("app", rl("cpu", "1", "memory", "128Mi"), rl("cpu", "1000m"))}),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "1Gi"), rl("memory", "1073741824"))}),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "1Gi"), rl("memory", "1G"))}),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)}, sidecar),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)}, plainInit),
		deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi", "ephemeral-storage", "1Gi"), nil)}),
		podLevel,
		cappedPodLevel,
	}
}

func oddHPAs() []*autoscalingv2.HorizontalPodAutoscaler {
	base := func() *autoscalingv2.HorizontalPodAutoscaler {
		h := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: policies.KindDeployment, Name: "web"},
				MaxReplicas:    10,
			},
		}
		policies.ApplyAPIServerDefaults(h)
		return h
	}
	var out []*autoscalingv2.HorizontalPodAutoscaler
	s := policies.Defaults()
	standard := policies.EvaluateHPA(policies.HPAReview{Object: base()}, &s).Object
	out = append(out, base(), standard)
	// Each direction alone at Kubernetes's defaults, the window unset.
	for i := range 3 {
		h := standard.DeepCopy()
		switch i {
		case 0:
			h.Spec.Behavior.ScaleUp = nil
		case 1:
			h.Spec.Behavior.ScaleDown = nil
		case 2:
			h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = nil
		}
		policies.ApplyAPIServerDefaults(h)
		out = append(out, h)
	}
	keda := standard.DeepCopy()
	keda.Spec.MinReplicas = ptr.To[int32](1)
	keda.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "web"}}
	// Not a group/version schema.ParseGroupVersion reads: not KEDA's.
	oddOwner := keda.DeepCopy()
	oddOwner.OwnerReferences[0].APIVersion = "keda.sh/v1/extra"
	dotted := keda.DeepCopy()
	dotted.OwnerReferences[0].APIVersion = "kedaXsh/v1alpha1"
	low := standard.DeepCopy()
	low.Spec.MaxReplicas = 1
	low.Spec.MinReplicas = ptr.To[int32](1)
	containerMemory := standard.DeepCopy()
	containerMemory.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}}}
	return append(out, keda, oddOwner, dotted, low, containerMemory)
}

// settingsVariants are the standard and settings that change what the
// webhooks have to say.
func settingsVariants() map[string]*policies.Settings {
	out := map[string]*policies.Settings{}
	d := policies.Defaults()
	out["defaults"] = &d
	eph := policies.Defaults()
	eph.Rules.RequestsRequired.Resources = append(eph.Rules.RequestsRequired.Resources, corev1.ResourceEphemeralStorage)
	out["ephemeral-storage required"] = &eph
	conflict := policies.Defaults()
	conflict.Rules.HPAReplicasConflict.Action = policies.Mutate
	out["hpa-replicas-conflict mutate"] = &conflict
	deny := policies.Defaults()
	deny.Rules.MinReplicas.Action, deny.Rules.MemoryTarget.Action, deny.Rules.BehaviorDefaults.Action = policies.Deny, policies.Deny, policies.Deny
	out["mutate rules deny"] = &deny
	three := policies.Defaults()
	three.Rules.MinReplicas.Minimum = 3
	three.ExternallyManaged = nil
	out["minimum 3, nothing externally managed"] = &three
	noWindow := policies.Defaults()
	noWindow.Rules.BehaviorDefaults.Behavior.ScaleDown.StabilizationWindowSeconds = ptr.To[int32](600)
	out["scale-down window 600"] = &noWindow
	var rules []string
	for _, info := range policies.Catalogue() {
		rules = append(rules, info.ID+": {action: \"off\"}")
	}
	off, err := policies.ParseSettings([]byte("rules: {" + strings.Join(rules, ", ") + "}"))
	if err != nil {
		panic(err)
	}
	out["every rule off"] = &off
	return out
}

// scalingHPA is an HPA that scales w and measures what the workload rules
// judge against it: CPU and memory utilization of every container, and the
// CPU of each named container, all at a target the pods cannot reach when
// a limit caps them at their request.
func scalingHPA(w policies.Workload) *autoscalingv2.HorizontalPodAutoscaler {
	util := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](95)}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "scaler", Namespace: w.Meta.Namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: w.Kind, Name: w.Meta.Name},
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: util}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: util}},
			},
		},
	}
	for _, c := range w.Template.Spec.Containers {
		h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
			ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: c.Name, Target: util}})
	}
	policies.ApplyAPIServerDefaults(h)
	return h
}

func withReplicas(obj runtime.Object, n int32) runtime.Object {
	switch o := obj.DeepCopyObject().(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
		return o
	case *appsv1.StatefulSet:
		o.Spec.Replicas = &n
		return o
	}
	panic("not a workload")
}

// TestSkippedWorkloadWritesHaveNoFindings is the conditions' contract for
// Deployments and StatefulSets: whenever the API server would skip the
// webhook, the webhook would have found nothing — judged with an HPA
// scaling the workload, so the cross-object rules have something to say.
func TestSkippedWorkloadWritesHaveNoFindings(t *testing.T) {
	workloads, _ := corpus(t)
	for name, s := range settingsVariants() {
		t.Run(name, func(t *testing.T) {
			validate, mutate := matcher(t, WorkloadValidate, s), matcher(t, WorkloadMutate, s)
			sent, skipped := 0, 0
			for _, obj := range workloads {
				w, _ := policies.WorkloadOf(obj)
				cluster := policies.NewStaticCluster()
				cluster.AddHPA(scalingHPA(w))
				judge := func(c call, oldW *policies.Workload) {
					t.Helper()
					nw, _ := policies.WorkloadOf(c.obj)
					r := policies.WorkloadReview{Object: nw, Old: oldW, Cluster: cluster}
					mutation := policies.EvaluateWorkloadFull(r, s)
					r.Final = true
					findings := policies.EvaluateWorkload(r, s)
					if c.matches(t, validate) {
						sent++
					} else {
						skipped++
						if len(findings) > 0 {
							t.Errorf("%s %s %s: the validating webhook is skipped but would say %v", c.op, nw.Kind, nw.Meta.Name, findings)
						}
					}
					if !c.matches(t, mutate) && mutation.Replicas != nil {
						t.Errorf("%s %s %s: the mutating webhook is skipped but would keep replicas at %d", c.op, nw.Kind, nw.Meta.Name, *mutation.Replicas)
					}
				}
				judge(call{op: admission.Create, obj: obj}, nil)
				// The same object again, and with another replica count.
				judge(call{op: admission.Update, obj: obj, old: obj}, &w)
				judge(call{op: admission.Update, obj: withReplicas(obj, 7), old: obj}, &w)
			}
			t.Logf("%d writes sent, %d skipped", sent, skipped)
		})
	}
}

// TestHPAMutateSendsExactlyWhatItPatches: the API server calls the mutating
// webhook for an HPA exactly when the webhook would patch it — never skips
// a patch, and never sends an HPA that is already standard (or one whose
// owner rewrites it), so the API server's reinvocation finds nothing to do.
func TestHPAMutateSendsExactlyWhatItPatches(t *testing.T) {
	_, hpas := corpus(t)
	for name, s := range settingsVariants() {
		t.Run(name, func(t *testing.T) {
			m := matcher(t, HPAMutate, s)
			sent := 0
			for _, h := range hpas {
				r := policies.EvaluateHPA(policies.HPAReview{Object: h}, s)
				got := (call{op: admission.Create, obj: h}).matches(t, m)
				if got {
					sent++
				}
				if got != r.Mutated {
					t.Errorf("HPA %s/%s: sent %v, but the webhook patches it: %v (%v)", h.Namespace, h.Name, got, r.Mutated, r.Findings)
				}
				if r.Mutated && (call{op: admission.Create, obj: r.Object}).matches(t, m) {
					t.Errorf("HPA %s/%s: the patched object is sent again", h.Namespace, h.Name)
				}
			}
			t.Logf("%d of %d creates sent to the mutating webhook", sent, len(hpas))
		})
	}
}

// TestHPAValidateSendsWhatCanChangeAVerdict: every CREATE, an UPDATE of the
// spec, of a scaleguard.io/ annotation or of the owners, and any write in
// an older API version; not an UPDATE of labels or other annotations.
func TestHPAValidateSendsWhatCanChangeAVerdict(t *testing.T) {
	s := policies.Defaults()
	m := matcher(t, HPAValidate, &s)
	_, hpas := corpus(t)
	v1 := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: policies.KindHPA}
	for _, h := range hpas {
		labelled := h.DeepCopy()
		labelled.Labels = map[string]string{"team": "a"}
		labelled.Annotations = map[string]string{"example.com/owner": "b"}
		exempted := h.DeepCopy()
		exempted.Annotations = map[string]string{policies.AnnotationExempt: policies.MinReplicas}
		resized := h.DeepCopy()
		resized.Spec.MaxReplicas++
		owned := h.DeepCopy()
		owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "x"}}
		for _, c := range []struct {
			name string
			call call
			want bool
		}{
			{"create", call{op: admission.Create, obj: h}, true},
			{"label update", call{op: admission.Update, obj: labelled, old: h}, false},
			{"spec update", call{op: admission.Update, obj: resized, old: h}, true},
			{"exemption added", call{op: admission.Update, obj: exempted, old: h}, true},
			{"exemption removed", call{op: admission.Update, obj: h, old: exempted}, true},
			{"owner added", call{op: admission.Update, obj: owned, old: h}, true},
			{"label update as v1", call{op: admission.Update, obj: labelled, old: h, requestKind: v1}, true},
			{"create in kube-system", call{op: admission.Create, obj: h, namespace: "kube-system"}, false},
		} {
			if got := c.call.matches(t, m); got != c.want {
				t.Errorf("HPA %s/%s, %s: sent %v, want %v", h.Namespace, h.Name, c.name, got, c.want)
			}
		}
	}
}

// TestConditionsFollowTheSettings: the condition is the settings' own — a
// required resource, the minimum, the rule actions — so changing a setting
// changes which writes the API server sends.
func TestConditionsFollowTheSettings(t *testing.T) {
	withStorage := deployment([]corev1.Container{container("app", rl("cpu", "100m", "memory", "128Mi"), nil)})
	d := policies.Defaults()
	eph := settingsVariants()["ephemeral-storage required"]
	create := call{op: admission.Create, obj: withStorage}
	if create.matches(t, matcher(t, WorkloadValidate, &d)) {
		t.Error("a Deployment requesting cpu and memory is sent under the defaults")
	}
	if !create.matches(t, matcher(t, WorkloadValidate, eph)) {
		t.Error("a Deployment without an ephemeral-storage request is skipped when ephemeral-storage is required")
	}
	update := call{op: admission.Update, obj: withReplicas(withStorage, 9), old: withStorage}
	if update.matches(t, matcher(t, WorkloadMutate, &d)) {
		t.Error("the workload mutator is sent a replica change while hpa-replicas-conflict only warns")
	}
	if !update.matches(t, matcher(t, WorkloadMutate, settingsVariants()["hpa-replicas-conflict mutate"])) {
		t.Error("the workload mutator is skipped for a replica change while hpa-replicas-conflict mutates")
	}
	off := settingsVariants()["every rule off"]
	for _, w := range Webhooks {
		conds := MatchConditions(w, off)
		if last := conds[len(conds)-1]; last.Expression != never {
			t.Errorf("%s with every rule off: %s, want %s", w, last.Expression, never)
		}
	}
}

// TestOddObjectsNeverFailTheConditions feeds objects no real client should
// write, as unstructured content the way a mutating webhook's condition
// sees them before validation: every one must evaluate.
func TestOddObjectsNeverFailTheConditions(t *testing.T) {
	odd := []map[string]any{
		{},
		{"metadata": map[string]any{}},
		{"metadata": map[string]any{"annotations": map[string]any{}}, "spec": map[string]any{}},
		{"spec": map[string]any{"template": map[string]any{}}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{}}}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{}}}}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{}}}}}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"resources": map[string]any{}}}}}}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers":     []any{map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}},
			"initContainers": []any{map[string]any{"restartPolicy": "Always"}}}}}},
		{"spec": map[string]any{"metrics": []any{}, "behavior": map[string]any{}}},
		{"spec": map[string]any{"metrics": []any{map[string]any{}}, "behavior": map[string]any{"scaleDown": map[string]any{}}}},
		{"metadata": map[string]any{"ownerReferences": []any{map[string]any{}}}},
	}
	for name, s := range settingsVariants() {
		for _, w := range Webhooks {
			m := matcher(t, w, s)
			for i, o := range odd {
				for _, op := range []admission.Operation{admission.Create, admission.Update} {
					obj := &unstructured.Unstructured{Object: o}
					obj.SetAPIVersion("apps/v1")
					obj.SetKind(policies.KindDeployment)
					c := call{op: op, obj: obj}
					if op == admission.Update {
						c.old = &unstructured.Unstructured{Object: odd[(i+1)%len(odd)]}
					}
					t.Run(name+"/"+string(w), func(t *testing.T) { c.matches(t, m) })
				}
			}
		}
	}
}

// FuzzConditionsNeverFail decodes each input as the API server would hand
// a Deployment and an HPA to the conditions — a typed object, whatever
// fields are set or missing — and fails if any condition of any webhook
// cannot be evaluated on it, as a create or as an update of the corpus's
// first object; and each input as a VerticalPodAutoscaler.
func FuzzConditionsNeverFail(f *testing.F) {
	s := policies.Defaults()
	matchers := map[Webhook]matchconditions.Matcher{}
	for _, w := range Webhooks {
		matchers[w] = matcher(f, w, &s)
	}
	workloads, hpas := corpus(f)
	for _, obj := range append(workloads, oddWorkloads()...) {
		data, _ := json.Marshal(obj)
		f.Add(data)
	}
	for _, h := range hpas {
		data, _ := json.Marshal(h)
		f.Add(data)
	}
	f.Add([]byte(`{"spec":{"template":{"spec":{"containers":null,"initContainers":[{"restartPolicy":"Always"}]}}}}`))
	f.Add([]byte(`{"metadata":{"annotations":{"scaleguard.io/exempt":""}},"spec":{"metrics":[],"behavior":{"scaleDown":{"policies":null}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &appsv1.Deployment{}
		h := &autoscalingv2.HorizontalPodAutoscaler{}
		for _, c := range []struct {
			obj  runtime.Object
			old  runtime.Object
			hook []Webhook
		}{
			{d, workloads[0], []Webhook{WorkloadMutate, WorkloadValidate}},
			{h, hpas[0], []Webhook{HPAMutate, HPAValidate}},
		} {
			if kjson.UnmarshalCaseSensitivePreserveInts(data, c.obj) != nil {
				continue
			}
			for _, w := range c.hook {
				call{op: admission.Create, obj: c.obj}.matches(t, matchers[w])
				call{op: admission.Update, obj: c.obj, old: c.old}.matches(t, matchers[w])
				call{op: admission.Update, obj: c.old, old: c.obj}.matches(t, matchers[w])
			}
		}
		// A VerticalPodAutoscaler is a custom resource: CEL sees whatever
		// JSON object its schema admitted.
		var vpa map[string]any
		if json.Unmarshal(data, &vpa) == nil && vpa != nil {
			u := &unstructured.Unstructured{Object: vpa}
			u.SetAPIVersion("autoscaling.k8s.io/v1")
			u.SetKind(policies.KindVPA)
			call{op: admission.Create, obj: u}.matches(t, matchers[VPAValidate])
			call{op: admission.Update, obj: u, old: u}.matches(t, matchers[VPAValidate])
		}
		// So is a ScaledObject.
		var so map[string]any
		if json.Unmarshal(data, &so) == nil && so != nil {
			u := &unstructured.Unstructured{Object: so}
			u.SetAPIVersion("keda.sh/v1alpha1")
			u.SetKind(policies.KindScaledObject)
			call{op: admission.Create, obj: u}.matches(t, matchers[ScaledObjectValidate])
			call{op: admission.Update, obj: u, old: oddScaledObject()}.matches(t, matchers[ScaledObjectValidate])
		}
	})
}
