// Package cluster is scaleguard's informer-backed view of the cluster: the
// Deployments, StatefulSets, HPAs, LimitRanges and Namespaces the rules
// judge an object against (and the VerticalPodAutoscalers and KEDA's
// ScaledObjects, when the cluster serves them: see crdWatch), each held
// reduced to what the rules read, plus the metrics APIServices and API
// discovery. A View implements
// policies.Cluster for the webhook, and hands the same informers to the
// audit as an audit.Source (AuditSource).
//
// A View never makes the webhook wait on its caches: until an informer has
// synced, the lookups that need it answer policies.ErrUnknown, and the
// rules judge the object alone and say so in a warning. LimitRanges alone
// are asked of the API server meanwhile, within a second (see
// liveLimitRanges). Once synced, a workload the informer does not hold yet
// is asked of the API server too (see directWorkloads).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scaleguard/scaleguard/policies"
)

// DefaultLeaderElectionID is the name of the Lease the replicas elect a
// leader with.
const DefaultLeaderElectionID = "scaleguard-leader"

// Options configure a View.
type Options struct {
	// Config reaches the API server.
	Config *rest.Config
	// LeaderElection elects one replica to run the manager's leader-only
	// runnables (the audit). The informers and the webhook run on every
	// replica regardless.
	LeaderElection bool
	// LeaderElectionNamespace holds the Lease; empty is the namespace the
	// pod runs in.
	LeaderElectionNamespace string
	// LeaderElectionID names the Lease, DefaultLeaderElectionID by default.
	LeaderElectionID string
	// DiscoveryTTL is how long a group-version's resource list answers
	// Scalable before discovery is asked again, DefaultDiscoveryTTL by
	// default.
	DiscoveryTTL time.Duration
	// WorkloadKinds reads the custom workload kinds the settings in force
	// list (settings.workloadKinds); the view watches each the API server
	// serves (customWorkloads). Nil watches none.
	WorkloadKinds func() []policies.WorkloadKind
	// WorkloadsOnDemand keeps no Deployment or StatefulSet informer: the
	// rules and the audit read workloads from the API server when they
	// need one (see ondemand.go). False, the default, watches them.
	WorkloadsOnDemand bool
	// Log receives the view's own log lines.
	Log logr.Logger
}

// View is the informer-backed view of the cluster. It implements
// policies.Cluster.
type View struct {
	informers informers
	// health follows each informer's watch: a store that synced once but
	// lost its watch is stale until the watch is current again.
	health map[string]*watchHealth
	live   *liveLimitRanges
	direct *directWorkloads
	custom *customWorkloads
	scale  *scaleDiscovery
	vpa    *vpaWatch
	sos    *scaledObjectWatch
	// mgr hosts leader election and the leader-only runnables (the audit,
	// the conditions sync). Nothing scaleguard reads goes through its cache:
	// the audit reads the view, and the reports and webhook configurations
	// are read from the API server.
	mgr manager.Manager
	log logr.Logger
}

var _ policies.Cluster = (*View)(nil)

// New builds a View. Nothing is asked of the API server until Start.
func New(o Options) (*View, error) {
	if o.Config == nil {
		return nil, errors.New("cluster view: no API server configuration")
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = DefaultLeaderElectionID
	}
	// Protobuf: smaller on the wire and cheaper to decode than JSON for the
	// thousands of objects of the first lists.
	pb := rest.CopyConfig(o.Config)
	pb.ContentType = runtime.ContentTypeProtobuf
	pb.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	// No gzip: the API server would compress every watch event on its own
	// (a flush per event) for a client one network hop away, and the view
	// would decompress it. Measured by `make bench-apiserver`, that cost the
	// API server about as much CPU as the admission call itself.
	pb.DisableCompression = true
	cs, err := kubernetes.NewForConfig(pb)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	dyn, err := dynamic.NewForConfig(o.Config)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	in, health, err := newInformers(cs, dyn, o.Log)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	if o.WorkloadsOnDemand {
		for _, r := range workloadResources {
			delete(in, r)
			delete(health, r)
		}
	}
	scale, err := newScaleDiscovery(o.Config, o.DiscoveryTTL)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	// The manager's metrics, probe and webhook servers stay off: scaleguard's
	// server has its own.
	mgr, err := manager.New(o.Config, manager.Options{
		Scheme: scheme.Scheme,
		Logger: o.Log,
		Cache: cache.Options{
			// Should a type ever be read through the cache, it loses its
			// managedFields at least.
			DefaultTransform: cache.TransformStripManagedFields(),
		},
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                o.LeaderElection,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	// The lookups a review makes go through a client of their own without
	// client-go's client-side rate limit (Config.QPS): a review must not
	// queue behind the informers' lists, nor behind other reviews, for a
	// token. The API server's own priority and fairness bounds them, and
	// liveCalls bounds each.
	unlimited := rest.CopyConfig(pb)
	unlimited.QPS, unlimited.RateLimiter = -1, nil
	lookups, err := kubernetes.NewForConfig(unlimited)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	direct := &directWorkloads{client: lookups.AppsV1(), calls: &liveCalls{now: time.Now}, lookups: newDirectLookups(), lists: namespaceLists{now: time.Now}}
	return &View{
		informers: in,
		health:    health,
		live:      &liveLimitRanges{client: lookups.CoreV1(), calls: &liveCalls{now: time.Now}},
		direct:    direct,
		custom: &customWorkloads{dyn: dyn, discover: scale, listed: o.WorkloadKinds, direct: direct,
			log: o.Log.WithName("custom-workloads"), byKind: map[string]*customInformer{}},
		scale: scale,
		vpa:   newVPAWatch(dyn, scale.client, scale.ttl, o.Log),
		sos:   newScaledObjectWatch(dyn, scale.client, scale.ttl, o.Log),
		mgr:   mgr,
		log:   o.Log,
	}, nil
}

// Start runs the informers, and the manager with its leader election,
// until ctx ends. The informers list and watch in the background and retry
// on their own while the API server cannot be reached: a cluster that is
// slow to answer delays the view, never the webhook.
func (v *View) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if v.onDemand(deployments) {
		v.log.Info("Deployments and StatefulSets are read from the API server when a rule needs one, not watched (--watch-workloads=true watches them)")
	}
	v.informers.run(ctx)
	go v.vpa.run(ctx)
	go v.sos.run(ctx)
	go v.custom.run(ctx)
	go v.logSynced(ctx, time.Now())
	return v.mgr.Start(ctx)
}

func (v *View) logSynced(ctx context.Context, start time.Time) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !v.Synced() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	v.log.Info("cluster view synced", "took", time.Since(start).Round(time.Millisecond))
}

// Synced reports whether every informer has synced and its watch is
// current (see watchHealth). Until its own is, a lookup answers
// policies.ErrUnknown.
func (v *View) Synced() bool {
	if !v.informers.synced() {
		return false
	}
	for _, h := range v.health {
		if h.current() != nil {
			return false
		}
	}
	return true
}

// ready returns nil once the named informer has synced and while its watch
// is current, and policies.ErrUnknown otherwise. Each lookup depends on its
// own informer only, so a resource the view cannot list (RBAC) leaves the
// others working.
func (v *View) ready(name string) error {
	return informerReady(name, v.informers[name], v.health[name])
}

// Manager is the manager hosting leader election, for runnables that share
// it (the audit).
func (v *View) Manager() manager.Manager { return v.mgr }

// Collectors are the view's metrics: the scaleguard_cluster_view_synced
// gauge and scaleguard_cluster_view_direct_lookups_total.
func (v *View) Collectors() []prometheus.Collector {
	synced := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scaleguard_cluster_view_synced",
		Help: "1 once the cluster view's informers have synced and while every watch is current; 0 until then and while a watch is interrupted (an API server restart), when rules that need the cluster are skipped with a warning.",
	}, func() float64 {
		if v.Synced() {
			return 1
		}
		return 0
	})
	return []prometheus.Collector{synced, v.direct.lookups}
}
