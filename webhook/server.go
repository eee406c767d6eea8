package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/scaleguard/scaleguard/internal/metricsauth"
	"github.com/scaleguard/scaleguard/policies"
)

// Defaults of Options, also the defaults of `scaleguard serve`.
const (
	DefaultPort        = 9443
	DefaultCertName    = "tls.crt"
	DefaultKeyName     = "tls.key"
	DefaultProbeAddr   = ":8081"
	DefaultMetricsAddr = ":8080"
)

// auxShutdownTimeout bounds the shutdown of the probe and metrics servers,
// which only ever answer short requests.
const auxShutdownTimeout = 5 * time.Second

// Options configure a Server. The zero value of every field means its
// default.
type Options struct {
	// Host is the address the webhook listens on; "" is every address.
	Host string
	// Port is the webhook's TLS port, 9443 by default.
	Port int
	// CertDir holds the serving certificate and key, typically the mounted
	// cert-manager Secret. Empty means controller-runtime's default,
	// <temp-dir>/k8s-webhook-server/serving-certs.
	CertDir string
	// CertName and KeyName are the file names in CertDir, tls.crt and
	// tls.key by default: the keys of a kubernetes.io/tls Secret.
	CertName, KeyName string
	// TLSMinVersion is tls.VersionTLS13 by default. tls.VersionTLS12 is
	// allowed for old API servers or meshes in between; nothing lower.
	TLSMinVersion uint16
	// ClientCAFile, when set, is a PEM bundle of the CA that signs the API
	// server's client certificate: every caller of the webhooks must present
	// a certificate it signed (see clientCAs). Empty accepts any caller, as
	// most admission webhooks do. The probe, metrics and pprof endpoints are
	// on their own ports and not affected.
	ClientCAFile string
	// EnableHTTP2 offers HTTP/2 through ALPN. It is off by default because of
	// the HTTP/2 rapid-reset and stream-cancellation vulnerabilities
	// (CVE-2023-44487, CVE-2023-39325): HTTP/1.1 limits what one connection
	// can make the server do, and the API server speaks it fine. The
	// kubebuilder scaffold makes the same choice.
	EnableHTTP2 bool
	// ProbeAddr serves /healthz and /readyz over plain HTTP, ":8081" by
	// default; "0" turns the probes off.
	ProbeAddr string
	// MetricsAddr serves /metrics, over plain HTTP unless MetricsAuth is
	// set, ":8080" by default; "0" turns it off.
	MetricsAddr string
	// MetricsAuth, when set, secures MetricsAddr: /metrics is served over
	// HTTPS with the webhook's serving certificate (CertDir, CertName,
	// KeyName, reloaded on renewal; TLSMinVersion and EnableHTTP2 apply,
	// ClientCAFile does not), and only to a caller whose bearer token this
	// API server authenticates and authorizes for get on the non-resource
	// URL /metrics (internal/metricsauth). Nil serves plain HTTP to anyone who
	// reaches the port. The probes stay plain HTTP on ProbeAddr either way:
	// the kubelet probes without a token.
	MetricsAuth *rest.Config
	// PprofAddr serves Go's profiles (/debug/pprof/) over plain HTTP
	// without authentication; "" or "0", the default, turns it off. Bind it
	// to localhost and reach it with kubectl port-forward.
	PprofAddr string
	// ShutdownDelay is how long the webhooks keep answering once shutdown
	// has begun and /readyz has turned red, before the server stops
	// accepting and drains: long enough for the endpoint to leave the
	// Service's EndpointSlice (the kubelet's readiness probe failing, the
	// API server's informer seeing the change). Zero stops accepting at
	// once. The chart derives it from its readiness probe; see
	// docs/operations.md, "Rolling restarts".
	ShutdownDelay time.Duration
	// Cluster is what the handlers know of the rest of the cluster, the
	// informer-backed view of package cluster. Nil means nothing: the rules
	// that need it are skipped, as offline.
	Cluster policies.Cluster
}

// ParseTLSVersion reads the minimum TLS version of a flag or setting.
func ParseTLSVersion(s string) (uint16, error) {
	switch s {
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, nil
	}
	return 0, fmt.Errorf("TLS version %q is not allowed: use 1.3 (the default) or 1.2", s)
}

func (o Options) withDefaults() (Options, error) {
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("webhook port %d is not a TCP port", o.Port)
	}
	if o.CertName == "" {
		o.CertName = DefaultCertName
	}
	if o.KeyName == "" {
		o.KeyName = DefaultKeyName
	}
	switch o.TLSMinVersion {
	case 0:
		o.TLSMinVersion = tls.VersionTLS13
	case tls.VersionTLS12, tls.VersionTLS13:
	default:
		return o, fmt.Errorf("minimum TLS version %s is not allowed: use TLS 1.3 or 1.2", tls.VersionName(o.TLSMinVersion))
	}
	if o.ProbeAddr == "" {
		o.ProbeAddr = DefaultProbeAddr
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = DefaultMetricsAddr
	}
	if o.PprofAddr == "" {
		o.PprofAddr = "0"
	}
	if o.ShutdownDelay < 0 {
		return o, fmt.Errorf("shutdown delay %s is negative", o.ShutdownDelay)
	}
	return o, nil
}

// configureTLS is applied on top of controller-runtime's TLS config, which
// offers h2 and leaves the minimum version to crypto/tls.
func (o Options) configureTLS(c *tls.Config) {
	c.MinVersion = o.TLSMinVersion
	if o.EnableHTTP2 {
		c.NextProtos = []string{"h2", "http/1.1"}
	} else {
		c.NextProtos = []string{"http/1.1"}
	}
}

// Server runs the four admission webhooks over TLS, plus the probe and
// metrics endpoints beside them.
//
// The TLS side is controller-runtime's webhook server, which brings:
//   - certificate reload: a certwatcher watches the cert and key files with
//     fsnotify (re-adding the watch when a Secret volume swaps its ..data
//     symlink) and re-reads them every 10 s as a fallback, so a certificate
//     renewed by cert-manager is served without a restart;
//   - a 1 MiB header limit (net/http's default); the 7 MiB body limit is
//     scaleguard's own (maxReviewBytes, the same as admission.Webhook's);
//   - graceful shutdown: when the context ends it stops accepting and waits
//     up to a minute for requests in flight. Their contexts are cancelled
//     at that moment (controller-runtime derives them from the server's),
//     which the handlers, pure computations, do not depend on. Answers
//     written once shutdown has begun say "Connection: close" (see
//     closeWhenStopping).
type Server struct {
	opts     Options
	settings SettingsSource
	metrics  *Metrics
	log      logr.Logger
	webhooks ctrlwebhook.Server
	// metricsAuth guards /metrics when Options.MetricsAuth is set.
	metricsAuth *metricsauth.Filter
	// stopping turns /readyz red as soon as shutdown starts, so the
	// endpoint is dropped while requests in flight drain.
	stopping atomic.Bool
}

// NewServer builds a Server answering with the settings src holds now. A
// nil m gets metrics of its own.
func NewServer(o Options, src SettingsSource, m *Metrics, log logr.Logger) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = NewMetrics()
	}
	s := &Server{opts: o, settings: src, metrics: m, log: log}
	if o.MetricsAuth != nil {
		if s.metricsAuth, err = metricsauth.NewForConfig(o.MetricsAuth, log.WithName("metrics")); err != nil {
			return nil, fmt.Errorf("metrics authentication: %w", err)
		}
	}
	tlsOpts := []func(*tls.Config){o.configureTLS}
	if o.ClientCAFile != "" {
		cas, err := newClientCAs(o.ClientCAFile, log.WithName("client-ca"))
		if err != nil {
			return nil, err
		}
		tlsOpts = append(tlsOpts, cas.configure)
	}
	// One registry per Metrics: a second server on the same Metrics keeps
	// the first one's gauge.
	var already prometheus.AlreadyRegisteredError
	if err := m.Registry.Register(certExpiry(servingCertPath(o))); err != nil && !errors.As(err, &already) {
		return nil, err
	}
	s.webhooks = ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host:     o.Host,
		Port:     o.Port,
		CertDir:  o.CertDir,
		CertName: o.CertName,
		KeyName:  o.KeyName,
		TLSOpts:  tlsOpts,
	})
	admissionLog := log.WithName("admission")
	c := o.Cluster
	s.register(PathMutateHPA, NewHPAMutator(src, c, m, admissionLog))
	s.register(PathValidateHPA, NewHPAValidator(src, c, m, admissionLog))
	s.register(PathMutateWorkload, NewWorkloadMutator(src, c, m, admissionLog))
	s.register(PathValidateWorkload, NewWorkloadValidator(src, c, m, admissionLog))
	s.register(PathValidateVPA, NewVPAValidator(src, c, m, admissionLog))
	s.register(PathValidateScaledObject, NewScaledObjectValidator(src, c, m, admissionLog))
	s.register(PathValidateScalingStandard, NewScalingStandardValidator(src, m, admissionLog))
	return s, nil
}

// register serves h at path. scaleguard's handlers read the review
// themselves (see handler's ServeHTTP), so they go straight on the server.
func (s *Server) register(path string, h http.Handler) {
	s.webhooks.Register(path, s.closeWhenStopping(h))
}

// closeWhenStopping ends the connection after each answer once shutdown has
// begun. The API server keeps reusing keep-alive connections to a
// terminating pod; "Connection: close" on the answers it still gets tells it
// to stop, where a connection closed while idle can meet the next review
// on its way in, and that review fails. net/http says the same once its own
// Shutdown has begun, a moment after ours.
// The answer decides when its header is written, not when the request
// came in: a review that arrived before shutdown is answered after it.
func (s *Server) closeWhenStopping(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&closingWriter{ResponseWriter: w, stopping: &s.stopping}, r)
	})
}

// closingWriter adds "Connection: close" to an answer written once
// stopping is set.
type closingWriter struct {
	http.ResponseWriter
	stopping *atomic.Bool
	written  bool
}

func (c *closingWriter) header() {
	if !c.written {
		c.written = true
		if c.stopping.Load() {
			c.Header().Set("Connection", "close")
		}
	}
}

func (c *closingWriter) WriteHeader(code int) {
	c.header()
	c.ResponseWriter.WriteHeader(code)
}

func (c *closingWriter) Write(b []byte) (int, error) {
	c.header()
	return c.ResponseWriter.Write(b)
}

// Start serves until ctx ends, then shuts down: /readyz fails at once, the
// webhooks keep answering for Options.ShutdownDelay while the endpoint is
// taken out of the Service, then the webhook server stops accepting and
// drains the requests in flight, and the probe and metrics servers stop
// last. It returns the first error that stopped a server.
func (s *Server) Start(ctx context.Context) error {
	// Bind the plain HTTP ports first, so a port in use fails the start
	// rather than a goroutine later.
	probe, err := s.listen("probe", s.opts.ProbeAddr, s.probeHandler())
	if err != nil {
		return err
	}
	// The metrics port's certificate watch ends with Start.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	metrics, err := s.listenMetrics(watchCtx)
	if err != nil {
		probe.close()
		return err
	}
	profiles, err := s.listen("pprof", s.opts.PprofAddr, pprofHandler())
	if err != nil {
		probe.close()
		metrics.close()
		return err
	}
	aux := []*auxServer{probe, metrics, profiles}

	// Not ctx: the webhooks outlive it by the shutdown delay.
	webhookCtx, stopWebhooks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWebhooks()
	webhookDone := make(chan error, 1)
	go func() { webhookDone <- s.webhooks.Start(webhookCtx) }()
	auxDone := make(chan error, len(aux))
	for _, a := range aux {
		a.serve(auxDone)
	}
	s.log.Info("serving", "host", s.opts.Host, "port", s.opts.Port, "probeAddr", s.opts.ProbeAddr,
		"metricsAddr", s.opts.MetricsAddr, "metricsScheme", s.metricsScheme(), "tlsMinVersion", tls.VersionName(s.opts.TLSMinVersion), "http2", s.opts.EnableHTTP2)

	select {
	case <-ctx.Done():
		s.stopping.Store(true)
		err = s.drain(webhookDone, stopWebhooks)
	case err = <-webhookDone:
		if err == nil {
			err = errors.New("webhook server stopped unexpectedly")
		}
		err = fmt.Errorf("webhook server: %w", err)
	case err = <-auxDone:
		s.stopping.Store(true)
		stopWebhooks()
		<-webhookDone //nolint:errcheck // the aux server's error is the one returned
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auxShutdownTimeout)
	defer cancel()
	for _, a := range aux {
		a.shutdown(shutdownCtx, s.log)
	}
	return err
}

// drain keeps the webhooks answering for the shutdown delay with /readyz
// red (the API server still sends reviews here until the endpoint is gone
// from the Service), then stops the webhook server and waits for the
// requests in flight.
func (s *Server) drain(webhookDone <-chan error, stopWebhooks context.CancelFunc) error {
	if d := s.opts.ShutdownDelay; d > 0 {
		s.log.Info("shutting down: not ready, still answering while the endpoint is removed", "delay", d)
		select {
		case err := <-webhookDone:
			if err == nil {
				err = errors.New("webhook server stopped unexpectedly")
			}
			return fmt.Errorf("webhook server: %w", err)
		case <-time.After(d):
		}
	}
	s.log.Info("shutting down: draining admission requests in flight")
	stopWebhooks()
	return <-webhookDone
}

// probeHandler serves liveness and readiness. Liveness says only that the
// process answers: restarting for a missing certificate or a bad settings
// file would not fix either. Readiness needs the TLS listener to complete a
// handshake, the settings to be loaded, and no shutdown in progress.
func (s *Server) probeHandler() http.Handler {
	ready := &healthz.Handler{Checks: map[string]healthz.Checker{
		"webhook":  s.webhooks.StartedChecker(),
		"settings": s.settingsChecker,
		"shutdown": s.shutdownChecker,
	}}
	live := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	mux := http.NewServeMux()
	// The sub-paths (/readyz/webhook, …) run one check, as in the manager.
	mux.Handle("/readyz", http.StripPrefix("/readyz", ready))
	mux.Handle("/readyz/", http.StripPrefix("/readyz", ready))
	mux.Handle("/healthz", http.StripPrefix("/healthz", live))
	mux.Handle("/healthz/", http.StripPrefix("/healthz", live))
	return mux
}

func (s *Server) settingsChecker(*http.Request) error {
	if s.settings == nil || s.settings.Current() == nil {
		return errors.New("settings not loaded")
	}
	return nil
}

func (s *Server) shutdownChecker(*http.Request) error {
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// metricsHandler serves scaleguard's registry together with
// controller-runtime's, which holds the webhook server's own series
// (controller_runtime_webhook_*) and the certificate reloads
// (certwatcher_read_certificate_errors_total: a renewal that fails to load).
// Only scaleguard's registry has the Go and process collectors; a series in
// both would make every scrape fail, which the server tests would catch.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{s.metrics.Registry, ctrlmetrics.Registry}, promhttp.HandlerOpts{})
}

// pprofHandler serves net/http/pprof's endpoints on a mux of its own, not
// on http.DefaultServeMux, where importing net/http/pprof registers them.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// auxServer is a plain HTTP server beside the webhook one.
type auxServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

func (s *Server) listen(name, addr string, h http.Handler) (*auxServer, error) {
	if addr == "0" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", name, err)
	}
	return &auxServer{name: name, ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
	}}, nil
}

func (a *auxServer) serve(done chan<- error) {
	if a == nil {
		return
	}
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			done <- fmt.Errorf("%s server: %w", a.name, err)
		}
	}()
}

func (a *auxServer) shutdown(ctx context.Context, log logr.Logger) {
	if a == nil {
		return
	}
	if err := a.srv.Shutdown(ctx); err != nil {
		log.Error(err, "shutting down", "server", a.name)
	}
}

func (a *auxServer) close() {
	if a != nil {
		_ = a.ln.Close()
	}
}
