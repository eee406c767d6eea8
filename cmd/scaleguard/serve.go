package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scaleguard/scaleguard/audit"
	"github.com/scaleguard/scaleguard/cluster"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/standards"
	"github.com/scaleguard/scaleguard/webhook"
)

func runServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "settings file, reloaded when it changes (default: the built-in standard). Deprecated: use a ClusterScalingStandard (scaleguard migrate-settings); where one exists it wins over the file")
	port := fs.Int("port", webhook.DefaultPort, "webhook HTTPS port")
	bindAddress := fs.String("bind-address", "", "address the webhook HTTPS port listens on (default: every address)")
	shutdownDelay := fs.Duration("shutdown-delay", 0, "on SIGTERM, how long to keep answering reviews with /readyz failing before the server stops accepting and drains: "+
		"longer than the readiness probe takes to notice (periodSeconds × failureThreshold + timeoutSeconds), so the endpoint leaves the Service first; the chart sets it (default: stop at once)")
	certDir := fs.String("cert-dir", "", "directory holding the serving certificate and key, reloaded when they change (default: <tmp>/k8s-webhook-server/serving-certs)")
	certName := fs.String("cert-name", webhook.DefaultCertName, "serving certificate file name in --cert-dir")
	keyName := fs.String("key-name", webhook.DefaultKeyName, "serving key file name in --cert-dir")
	tlsMin := fs.String("tls-min-version", "1.3", "minimum TLS version: 1.3 or 1.2")
	clientCA := fs.String("client-ca-file", "", "PEM bundle of the CA that signed the API server's client certificate: callers of the webhooks without a certificate it signed are refused in the TLS handshake; reloaded when it changes (default: any caller)")
	// Off by default: HTTP/2 rapid reset (CVE-2023-44487, CVE-2023-39325);
	// see webhook.Options.EnableHTTP2.
	enableHTTP2 := fs.Bool("enable-http2", false, "offer HTTP/2 (off by default because of CVE-2023-44487 and CVE-2023-39325)")
	probeAddr := fs.String("probe-addr", webhook.DefaultProbeAddr, "address serving /healthz and /readyz, or 0 for none")
	metricsAddr := fs.String("metrics-addr", webhook.DefaultMetricsAddr, "address serving /metrics, or 0 for none")
	// Off by default, so that installs and scrapers that read plain HTTP
	// keep working; the chart's metrics.secure turns it on.
	metricsSecure := fs.Bool("metrics-secure", false, "serve /metrics over HTTPS with the webhook's serving certificate (--cert-dir), and only to callers whose bearer token the API server authenticates (TokenReview) "+
		"and authorizes for get on the non-resource URL /metrics (SubjectAccessReview); needs RBAC create on tokenreviews and subjectaccessreviews (default: plain HTTP to anyone who reaches the port)")
	pprofAddr := fs.String("pprof-addr", "0", "address serving Go's profiles at /debug/pprof/, unauthenticated: bind it to localhost (e.g. 127.0.0.1:6060); 0 for none")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file for the cluster view and the reviews of --metrics-secure (default: $KUBECONFIG when set, else the in-cluster service account, else ~/.kube/config)")
	clusterView := fs.Bool("cluster-view", true, "judge objects against the cluster (workloads, HPAs, LimitRanges, metrics APIs from informer caches; needs the ClusterRole). "+
		"Turn off to run without API server access, or to save the caches' memory: the rules that need the cluster are then skipped")
	watchWorkloads := fs.Bool("watch-workloads", false, "keep the cluster's Deployments and StatefulSets in the cluster view's informers: a watch event to every replica on every workload write, and memory for each workload. "+
		"Off (the default), they are read from the API server when a rule needs one: a GET per HPA review for its target, a LIST of the namespace for selector-overlap (shared for 2 s), a list per namespace at each audit scan")
	leaderElect := fs.Bool("leader-elect", false, "elect one replica, through a Lease, to run the cluster-wide audit; the webhook serves on every replica regardless (needs --cluster-view)")
	manageConditions := fs.Bool("manage-webhook-conditions", true, "keep the matchConditions of the webhook configurations named by --webhook-configuration-name in step with the settings, so the API server sends only writes a rule could judge "+
		"(needs --cluster-view and RBAC get/update on those two configurations; on the elected leader only)")
	webhookConfigName := fs.String("webhook-configuration-name", "scaleguard", "name of scaleguard's MutatingWebhookConfiguration and ValidatingWebhookConfiguration")
	leaderNamespace := fs.String("leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's own namespace)")
	logLevel := fs.String("log-level", "info", "debug, info, warn, error, or a verbosity N > 0 (debug is 1)")
	logFormat := fs.String("log-format", "json", "json or console")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard serve [flags]")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	tlsVersion, err := webhook.ParseTLSVersion(*tlsMin)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err == nil && *leaderElect && !*clusterView {
		err = errors.New("--leader-elect needs --cluster-view: the audit it elects a leader for reads the cluster view")
	}
	if err == nil && *watchWorkloads && !*clusterView {
		err = errors.New("--watch-workloads needs --cluster-view: it says how the view reads workloads")
	}
	if err == nil && *manageConditions && !*clusterView && isSet(fs, "manage-webhook-conditions") {
		err = errors.New("--manage-webhook-conditions needs --cluster-view: it writes through the same API server connection")
	}
	if err == nil && *metricsSecure && *metricsAddr == "0" {
		err = errors.New("--metrics-secure with --metrics-addr=0: there is no metrics port to secure")
	}
	var zl *zap.Logger
	if err == nil {
		zl, err = newZapLogger(*logLevel, *logFormat, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "scaleguard serve:", err)
		return exitUsage
	}
	defer func() { _ = zl.Sync() }()
	defer zap.RedirectStdLog(zl)() // net/http's TLS handshake errors
	log := zapr.NewLogger(zl)
	// controller-runtime (webhook server, certwatcher) and client-go log
	// through their own globals; send both to the same logger.
	ctrllog.SetLogger(log)
	klog.SetLogger(log.WithName("klog"))
	log.Info("starting", "version", version)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once instead of waiting for the drain
	}()

	metrics := webhook.NewMetrics()
	file, err := webhook.NewSettingsFile(*configPath, metrics, log.WithName("settings"))
	if err != nil {
		log.Error(err, "cannot start")
		return exitFailure
	}
	if limit, err := setGoMemoryLimit(); err != nil {
		log.Error(err, "cannot start")
		return exitFailure
	} else if limit > 0 {
		log.Info("Go memory limit set from the container's", "bytes", limit, "share", memoryLimitShare)
	}
	if *configPath != "" {
		log.Info("deprecated: the settings file (--config) will be removed in a coming release; write the standard as a ClusterScalingStandard named default instead. "+
			"While no ClusterScalingStandard exists the file is the standard; once one does, the ClusterScalingStandards win and the file is not read", "path", *configPath)
	}
	// The standards: the ClusterScalingStandards and ScalingStandards the
	// cluster holds, falling back to the file (or the built-in standard).
	// Without a cluster view there is nothing to watch and the file rules.
	var view *cluster.View
	var watcher *standards.Watcher
	settings := standards.NewStore(file, func(ns string) (map[string]string, error) {
		if view == nil {
			return nil, nil
		}
		return view.NamespaceLabels(ns)
	})
	gc := newGCTarget()
	go gc.followLiveHeap(ctx, time.Second)
	opts := webhook.Options{
		Host:          *bindAddress,
		ShutdownDelay: *shutdownDelay,
		Port:          *port,
		CertDir:       *certDir,
		CertName:      *certName,
		KeyName:       *keyName,
		TLSMinVersion: tlsVersion,
		ClientCAFile:  *clientCA,
		EnableHTTP2:   *enableHTTP2,
		ProbeAddr:     *probeAddr,
		MetricsAddr:   *metricsAddr,
		PprofAddr:     *pprofAddr,
	}
	var cfg *rest.Config
	if *clusterView || *metricsSecure {
		if cfg, err = restConfig(*kubeconfig); err != nil {
			log.Error(err, "cannot start")
			return exitFailure
		}
	}
	if *metricsSecure {
		opts.MetricsAuth = cfg
	}
	if *clusterView {
		// The view watches the custom workload kinds of the settings in
		// force, following each reload.
		kinds := func() []policies.WorkloadKind { return settings.Current().WorkloadKinds }
		view, err = newClusterView(cfg, *leaderElect, *leaderNamespace, !*watchWorkloads, kinds, log.WithName("cluster"))
		if err != nil {
			log.Error(err, "cannot start")
			return exitFailure
		}
		watcher = standards.NewWatcher(cfg, settings, log.WithName("standards"))
		metrics.Registry.MustRegister(view.Collectors()...)
		opts.Cluster = view
		// The audit reads the view's own reduced objects, not a second copy
		// in the manager's cache, and runs on the elected leader only.
		if _, err := audit.SetupWithManager(view.Manager(), audit.Options{
			Source: view.AuditSource(), Settings: settings,
			Registerer: metrics.Registry, Log: log.WithName("audit"), AroundScan: gc.during,
		}); err != nil {
			log.Error(err, "cannot start")
			return exitFailure
		}
		if *manageConditions {
			mgr := view.Manager()
			sync := webhook.NewConditionsSync(mgr.GetAPIReader(), mgr.GetClient(), *webhookConfigName, settings, metrics, log.WithName("conditions"))
			if err := mgr.Add(sync); err != nil {
				log.Error(err, "cannot start")
				return exitFailure
			}
		}
	} else {
		log.Info("cluster view off: rules that need the cluster are skipped, and the webhook configurations' matchConditions are not kept in step with the settings")
	}
	srv, err := webhook.NewServer(opts, settings, metrics, log)
	if err != nil {
		log.Error(err, "cannot start")
		return exitFailure
	}

	// The first to stop stops the others. A signal stops the server, which
	// keeps answering for the shutdown delay and drains the requests in
	// flight; the settings and the cluster view it answers from stop after
	// it, not with the signal. The server does not wait for the cluster
	// view: until it has synced, objects are judged alone.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	others, cancelOthers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOthers()
	runs := []func() error{
		func() error { return wrap("settings watch", file.Start(others)) },
		func() error { return wrap("server", srv.Start(ctx)) },
	}
	if view != nil {
		runs = append(runs, func() error { return wrap("cluster view", view.Start(others)) })
		runs = append(runs, func() error { return wrap("standards watch", watcher.Start(others)) })
		go gc.untilSynced(others, view.Synced)
	}
	done := make(chan error, len(runs))
	for _, run := range runs {
		go func() { done <- run() }()
	}
	err = <-done
	cancel()
	cancelOthers()
	for range len(runs) - 1 {
		err = errors.Join(err, <-done)
	}
	if err != nil {
		log.Error(err, "stopped")
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// restConfig is the API server connection of --kubeconfig, or else of
// $KUBECONFIG, the in-cluster service account or ~/.kube/config, in that
// order. The cluster view and the metrics port's reviews share it.
func restConfig(kubeconfig string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = ctrlconfig.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("no API server to connect to (%w): give --kubeconfig. The cluster view needs one (--cluster-view=false turns it off), and so does --metrics-secure", err)
	}
	cfg.UserAgent = "scaleguard/" + version
	if cfg.QPS == 0 {
		// controller-runtime's defaults; client-go's 5/s would throttle the
		// first lists of a large cluster.
		cfg.QPS, cfg.Burst = 20, 30
	}
	return cfg, nil
}

// newClusterView builds the informer-backed view of the cluster at cfg.
func newClusterView(cfg *rest.Config, leaderElect bool, leaderNamespace string, workloadsOnDemand bool, kinds func() []policies.WorkloadKind, log logr.Logger) (*cluster.View, error) {
	return cluster.New(cluster.Options{
		Config:                  cfg,
		LeaderElection:          leaderElect,
		LeaderElectionNamespace: leaderNamespace,
		WorkloadKinds:           kinds,
		WorkloadsOnDemand:       workloadsOnDemand,
		Log:                     log,
	})
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// newZapLogger builds the process logger. Verbosity N maps to zap level -N,
// which is how zapr passes logr's V(N) through.
func newZapLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if n, err := strconv.Atoi(level); err == nil && n > 0 {
		lvl = zapcore.Level(-n)
	} else if err := lvl.UnmarshalText([]byte(level)); err != nil || lvl > zapcore.ErrorLevel {
		return nil, fmt.Errorf("log level %q: use debug, info, warn, error or a verbosity N > 0", level)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log format %q: use json or console", format)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	return zap.New(zapcore.NewCore(enc, out, lvl), zap.ErrorOutput(out)), nil
}
