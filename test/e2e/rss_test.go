package e2e

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/scaleguard/scaleguard/manifests"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// The cluster view's memory: docs/PERFORMANCE.md, "Cluster view memory".
//
//	SCALEGUARD_BENCH_RSS=1 go test ./test/e2e -run TestClusterViewMemory -v -timeout 30m
//
// It takes about a minute and a half (a fifth of it creating the objects,
// the rest measuring), so it runs only when asked.
const (
	benchNamespaces = 100
	benchPerNS      = 100 // Deployments, and as many HPAs, per namespace
	// rssGoal is the most resident memory scaleguard serve may hold with
	// its cluster view of the objects above.
	rssGoal = 80 << 20
	// limitBytes is the chart's default memory limit, 256Mi.
	limitBytes = 256 << 20
)

func TestClusterViewMemory(t *testing.T) {
	if os.Getenv("SCALEGUARD_BENCH_RSS") == "" {
		t.Skip("set SCALEGUARD_BENCH_RSS=1 to store 10,000 Deployments, 10,000 HPAs, 1,000 VPAs and 1,000 ScaledObjects and measure scaleguard's memory")
	}
	// Its own control plane: 20,000 objects are not for the shared one.
	bed := testbed.Start(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	start := time.Now()
	storeObjects(ctx, t, bed.Config)
	t.Logf("stored %d Deployments and %d HPAs in %d namespaces in %s",
		benchNamespaces*benchPerNS, benchNamespaces*benchPerNS, benchNamespaces, time.Since(start).Round(time.Second))
	storeAutoscalers(ctx, t, bed)

	bin, err := harness.Build(ctx, env.root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	measure := func(name, kubeconfig string, env []string, args ...string) memory {
		t.Helper()
		started := time.Now()
		sg, err := harness.StartWith(ctx, bin, t.TempDir(), harness.Options{Kubeconfig: kubeconfig, Args: args, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := sg.Stop(); err != nil {
				t.Error(err)
			}
		}()
		ready := time.Since(started)
		m := memory{ready: ready, afterSync: readMemory(t, sg.PID())}
		// The Go runtime returns freed pages to the OS over minutes; the
		// steady figure is what a pod holds once the first lists are past.
		time.Sleep(30 * time.Second)
		m.steady = readMemory(t, sg.PID())
		t.Logf("%-20s ready (and synced) in %s; VmRSS %s after sync, %s 30 s later; peak (VmHWM) %s",
			name, ready.Round(time.Millisecond), mib(m.afterSync.rss), mib(m.steady.rss), mib(m.steady.hwm))
		return m
	}
	off := measure("--cluster-view=false", "", nil)
	on := measure("--watch-workloads=true", bed.Kubeconfig, nil, "--watch-workloads=true")
	t.Logf("watching workloads, the cluster view adds %s resident (steady), %s at peak", mib(on.steady.rss-off.steady.rss), mib(on.steady.hwm-off.steady.hwm))
	// Workloads read on demand: no Deployment is held; the start-up audit
	// lists each namespace's.
	onDemand := measure("workloads on demand", bed.Kubeconfig, nil)
	t.Logf("with workloads read on demand the cluster view adds %s resident (steady), %s at peak",
		mib(onDemand.steady.rss-off.steady.rss), mib(onDemand.steady.hwm-off.steady.hwm))
	if onDemand.steady.hwm > on.steady.hwm {
		t.Errorf("reading workloads on demand peaked at %s, above watching them (%s)", mib(onDemand.steady.hwm), mib(on.steady.hwm))
	}
	// An API server without watch-list streaming (or a client without it)
	// answers the first lists as plain LISTs, which client-go holds whole:
	// the chart's 256 MiB limit must hold then too, through the Go memory
	// limit scaleguard derives from it (SCALEGUARD_MEMORY_LIMIT, which the
	// chart fills from the container's limit).
	noWatchList := []string{"KUBE_FEATURE_WatchListClient=false"}
	plain := measure("no watch-list", bed.Kubeconfig, noWatchList, "--watch-workloads=true")
	limited := measure("no watch-list, 256Mi", bed.Kubeconfig, append(noWatchList, "SCALEGUARD_MEMORY_LIMIT="+strconv.Itoa(limitBytes)), "--watch-workloads=true")
	t.Logf("without watch-list the view peaks at %s, %s with the Go memory limit of a 256Mi container", mib(plain.steady.hwm), mib(limited.steady.hwm))
	if limited.steady.hwm >= limitBytes {
		t.Errorf("without watch-list and with the Go memory limit, VmRSS peaked at %s: a 256Mi container would be killed", mib(limited.steady.hwm))
	}
	// The peak, since a memory limit at the goal would be hit there.
	if on.steady.hwm > rssGoal {
		t.Errorf("watching workloads, VmRSS peaked at %s, over the %s goal", mib(on.steady.hwm), mib(rssGoal))
	}
}

type memory struct {
	ready             time.Duration
	afterSync, steady procMemory
}

type procMemory struct{ rss, hwm int64 }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// readMemory reads VmRSS and VmHWM (peak RSS) of a process.
func readMemory(t *testing.T, pid int) procMemory {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m procMemory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return m
}

// storeObjects creates the namespaces, then Deployments and HPAs at
// concurrency, without scaleguard in the way (this test bed has no webhook
// configurations).
func storeObjects(ctx context.Context, t *testing.T, cfg *rest.Config) {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range benchNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%03d", i)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	type job struct {
		ns, name string
		n        int
	}
	jobs := make(chan job)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for j := range jobs {
				if failed.Load() != nil {
					continue
				}
				_, err := cs.AppsV1().Deployments(j.ns).Create(ctx, benchDeployment(j.ns, j.name, j.n), metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"})
				if err == nil {
					_, err = cs.AutoscalingV2().HorizontalPodAutoscalers(j.ns).Create(ctx, benchHPA(j.ns, j.name, j.n), metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"})
				}
				if err != nil {
					err = fmt.Errorf("%s/%s: %w", j.ns, j.name, err)
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for i := range benchNamespaces {
		for j := range benchPerNS {
			n := i*benchPerNS + j
			jobs <- job{fmt.Sprintf("team-%03d", i), fmt.Sprintf("service-%05d", n), n}
		}
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(*err)
	}
}

// benchDeployment is a Deployment as teams write them: an app and a log
// shipper sidecar, env, probes, volumes, labels, and kubectl's
// last-applied annotation (a copy of the manifest), which is most of what
// the cache's transform drops. The n-th one's CPU request is its own, so
// that no two share what the view keeps (the worst case: Deployments from
// one chart share it).
func benchDeployment(ns, name string, n int) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns,
		"app.kubernetes.io/managed-by": "kustomize", "team": ns}
	env := make([]corev1.EnvVar, 8)
	for i := range env {
		env[i] = corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", i), Value: fmt.Sprintf("value-%d-of-%s", i, name)}
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 10, TimeoutSeconds: 2}
	requests := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)},
		}
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{
						{Name: "app", Image: "registry.example.com/" + ns + "/" + name + ":1.42.0", Args: []string{"--listen=:8080", "--log-format=json"},
							Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}, Env: env,
							Resources: requests(fmt.Sprintf("%dm", 100+n), "256Mi"), ReadinessProbe: probe, LivenessProbe: probe,
							VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "tmp", MountPath: "/tmp"}}},
						{Name: "log-shipper", Image: "registry.example.com/platform/log-shipper:3.1",
							Resources: requests("20m", "32Mi"), VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/var/log/app"}}},
					},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
	setLastApplied(d)
	return d
}

// benchHPA scales the Deployment of the same name; like the Deployments,
// no two specs are the same.
func benchHPA(ns, name string, n int) *autoscalingv2.HorizontalPodAutoscaler {
	utilization := func(r corev1.ResourceName, p int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: r, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(p)}}}
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": name}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: int32(20 + n),
			Metrics: []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 70), utilization(corev1.ResourceMemory, 80)},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](300),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}},
			},
		},
	}
	setLastApplied(h)
	return h
}

// setLastApplied adds kubectl's last-applied-configuration annotation: the
// object as JSON.
func setLastApplied(obj metav1.Object) {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	obj.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(b)})
}

// benchAutoscalersPerNS is how many VerticalPodAutoscalers, and as many
// KEDA ScaledObjects, each namespace holds: 1,000 of each in all.
const benchAutoscalersPerNS = 10

// storeAutoscalers installs the VPA and ScaledObject CRDs pinned in
// hack/crds and stores 1,000 of each: VPAs on the first ten Deployments of
// each namespace, ScaledObjects (a cpu and a Prometheus trigger, a
// behavior) on the next ten.
func storeAutoscalers(ctx context.Context, t *testing.T, bed *testbed.Testbed) {
	t.Helper()
	start := time.Now()
	for _, file := range []string{"vpa-v1-crd-gen.yaml", "keda.sh_scaledobjects.yaml"} {
		path, err := testbed.CRDFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := manifests.Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := json.Unmarshal(d.JSON, crd); err != nil {
				t.Fatal(err)
			}
			if err := bed.Client.Create(ctx, crd); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, 30*time.Second, crd.Name+" established", func() error {
				if err := bed.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
					return err
				}
				for _, c := range crd.Status.Conditions {
					if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
						return nil
					}
				}
				return fmt.Errorf("not established yet")
			})
		}
	}
	dyn, err := dynamic.NewForConfig(bed.Config)
	if err != nil {
		t.Fatal(err)
	}
	vpas := schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}
	sos := schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
	for i := range benchNamespaces {
		ns := fmt.Sprintf("team-%03d", i)
		for j := range benchAutoscalersPerNS {
			n := i*benchPerNS + j
			vpa := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
				"metadata": map[string]any{"name": fmt.Sprintf("service-%05d", n), "namespace": ns},
				"spec": map[string]any{
					"targetRef":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": fmt.Sprintf("service-%05d", n)},
					"updatePolicy": map[string]any{"updateMode": "Off"},
					"resourcePolicy": map[string]any{"containerPolicies": []any{
						map[string]any{"containerName": "*", "controlledResources": []any{"memory"}, "maxAllowed": map[string]any{"memory": fmt.Sprintf("%dMi", 512+n)}},
					}},
				},
			}}
			if _, err := dyn.Resource(vpas).Namespace(ns).Create(ctx, vpa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			m := n + benchAutoscalersPerNS
			so := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
				"metadata": map[string]any{"name": fmt.Sprintf("service-%05d", m), "namespace": ns},
				"spec": map[string]any{
					"scaleTargetRef":  map[string]any{"name": fmt.Sprintf("service-%05d", m)},
					"minReplicaCount": int64(2), "maxReplicaCount": int64(20 + m%50),
					"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"behavior": map[string]any{
						"scaleDown": map[string]any{"stabilizationWindowSeconds": int64(300), "policies": []any{map[string]any{"type": "Percent", "value": int64(50), "periodSeconds": int64(60)}}},
					}}},
					"triggers": []any{
						map[string]any{"type": "cpu", "metricType": "Utilization", "metadata": map[string]any{"value": "70"}},
						map[string]any{"type": "prometheus", "metadata": map[string]any{
							"serverAddress": "http://prometheus.monitoring:9090", "threshold": fmt.Sprint(100 + m),
							"query": fmt.Sprintf(`sum(rate(http_requests_total{service="service-%05d"}[2m]))`, m)}},
					},
				},
			}}
			if _, err := dyn.Resource(sos).Namespace(ns).Create(ctx, so, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("stored %d VerticalPodAutoscalers and %d ScaledObjects in %s",
		benchNamespaces*benchAutoscalersPerNS, benchNamespaces*benchAutoscalersPerNS, time.Since(start).Round(time.Second))
}
