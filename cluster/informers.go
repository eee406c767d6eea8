package cluster

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
)

// Names of the watched resources, as lookups and log lines call them.
const (
	deployments  = "deployments"
	statefulSets = "statefulsets"
	hpas         = "horizontalpodautoscalers"
	limitRanges  = "limitranges"
	namespaces   = "namespaces"
	apiServices  = "apiservices"
	quotas       = "resourcequotas"
	pdbs         = "poddisruptionbudgets"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: apiServices}

// informers are the view's watches, one per resource, each holding what
// transform keeps. They are client-go's own rather than controller-runtime's
// cache, whose stores must hold the typed objects.
type informers map[string]toolscache.SharedIndexInformer

// newInformers builds the informers and, for each, the watchHealth that
// follows its list and watch calls.
func newInformers(cs kubernetes.Interface, dyn dynamic.Interface, log logr.Logger) (informers, map[string]*watchHealth, error) {
	health := map[string]*watchHealth{}
	byNamespace := toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc}
	typed := func(c rest.Interface, resource string, obj runtime.Object, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		lw := toolscache.NewListWatchFromClient(c, resource, corev1.NamespaceAll, fields.Everything())
		lw.ListWithContextFunc = listReduced(resource, lw.ListWithContextFunc)
		//nolint:staticcheck // kept in step for callers of the context-free List
		lw.ListFunc = func(o metav1.ListOptions) (runtime.Object, error) {
			return lw.ListWithContextFunc(context.Background(), o)
		}
		// listReduced pages itself; the reflector's own pager would
		// gather the pages whole.
		lw.DisableChunking = true
		health[resource] = newWatchHealth(resource, log)
		health[resource].track(lw)
		return toolscache.NewSharedIndexInformer(lw, obj, 0, indexers)
	}
	in := informers{
		// Workloads are looked up by key, and by namespace for
		// selector-overlap (whose pods does a selector match).
		deployments:  typed(cs.AppsV1().RESTClient(), deployments, &appsv1.Deployment{}, byNamespace),
		statefulSets: typed(cs.AppsV1().RESTClient(), statefulSets, &appsv1.StatefulSet{}, byNamespace),
		// HPAs are found through their namespace: an index by scale target
		// would hold a set per HPA, 3 MB for 10,000 of them, to save a scan
		// of one namespace's HPAs (25 µs for 1,000; BenchmarkHPAsFor).
		hpas:        typed(cs.AutoscalingV2().RESTClient(), hpas, &autoscalingv2.HorizontalPodAutoscaler{}, byNamespace),
		limitRanges: typed(cs.CoreV1().RESTClient(), limitRanges, &corev1.LimitRange{}, byNamespace),
		namespaces:  typed(cs.CoreV1().RESTClient(), namespaces, &corev1.Namespace{}, toolscache.Indexers{}),
		// A namespace has a handful of each; quota-ceiling and
		// drain-at-minimum read one namespace's.
		quotas: typed(cs.CoreV1().RESTClient(), quotas, &corev1.ResourceQuota{}, byNamespace),
		pdbs:   typed(cs.PolicyV1().RESTClient(), pdbs, &policyv1.PodDisruptionBudget{}, byNamespace),
	}
	apiServicesLW := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return dyn.Resource(apiServiceGVR).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return dyn.Resource(apiServiceGVR).Watch(ctx, o)
		},
	}
	health[apiServices] = newWatchHealth(apiServices, log)
	health[apiServices].track(apiServicesLW)
	in[apiServices] = toolscache.NewSharedIndexInformer(apiServicesLW, &unstructured.Unstructured{}, 0, toolscache.Indexers{})
	for name, i := range in {
		t := toolscache.TransformFunc(transform)
		if name == apiServices {
			t = transformAPIService
		}
		if err := i.SetTransform(t); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return in, health, nil
}

// run runs every informer until ctx ends.
func (in informers) run(ctx context.Context) {
	for _, i := range in {
		go i.RunWithContext(ctx)
	}
}

// synced reports whether every informer has synced.
func (in informers) synced() bool {
	for _, i := range in {
		if !i.HasSynced() {
			return false
		}
	}
	return true
}
