package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// newMetricsAuth is controller-runtime's filter that lets through only a
// request whose bearer token the API server at cfg authenticates
// (TokenReview) and whose user it authorizes for the request's verb on its
// path, a non-resource URL (SubjectAccessReview). It answers 401 without a
// token, 403 without the permission, and 500 when the API server cannot be
// asked or rejects the token: the TokenReview's status then carries an
// error, which the filter treats as a failure. It caches a token's review
// for a minute, an allowed access for five and a denied one for 30 s, so a
// scrape every 30 s costs about one TokenReview a minute and one
// SubjectAccessReview every five per token and pod; a rejected token is
// not cached, and costs a TokenReview each time.
func newMetricsAuth(cfg *rest.Config) (metricsserver.Filter, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("metrics authentication: API server client: %w", err)
	}
	filter, err := filters.WithAuthenticationAndAuthorization(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("metrics authentication: %w", err)
	}
	return filter, nil
}

// listenMetrics binds the metrics port: plain HTTP, or with
// Options.MetricsAuth HTTPS and the authentication filter in front of
// /metrics, the only path served. The certificate is the webhook's own
// files, watched and reloaded on renewal like the webhook's (until ctx
// ends), so a scraper verifies it against the same CA as the API server
// does.
func (s *Server) listenMetrics(ctx context.Context) (*auxServer, error) {
	if s.metricsAuth == nil || s.opts.MetricsAddr == "0" {
		return s.listen("metrics", s.opts.MetricsAddr, s.metricsHandler())
	}
	guarded, err := s.metricsAuth(s.log.WithName("metrics"), s.metricsHandler())
	if err != nil {
		return nil, fmt.Errorf("metrics server: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", guarded)
	certs, err := certwatcher.New(servingCertPath(s.opts), servingKeyPath(s.opts))
	if err != nil {
		return nil, fmt.Errorf("metrics server: serving certificate: %w", err)
	}
	a, err := s.listen("metrics", s.opts.MetricsAddr, mux)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := certs.Start(ctx); err != nil {
			s.log.Error(err, "watching the serving certificate of the metrics port; a renewed certificate is not served there until a restart")
		}
	}()
	cfg := &tls.Config{GetCertificate: certs.GetCertificate}
	s.opts.configureTLS(cfg)
	if !s.opts.EnableHTTP2 {
		// A non-nil empty map keeps net/http from adding h2 on its own.
		a.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	a.ln = tls.NewListener(a.ln, cfg)
	return a, nil
}

// metricsScheme is how the metrics port is reached, for the log.
func (s *Server) metricsScheme() string {
	if s.metricsAuth != nil {
		return "https"
	}
	return "http"
}
