package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// listenMetrics binds the metrics port: plain HTTP, or with
// Options.MetricsAuth HTTPS and the authentication filter in front of
// /metrics, the only path served. The certificate is the webhook's own
// files, watched and reloaded on renewal like the webhook's (until ctx
// ends), so a scraper verifies it against the same CA as the API server
// does.
func (s *Server) listenMetrics(ctx context.Context) (*auxServer, error) {
	mux := http.NewServeMux()
	if s.metricsAuth == nil || s.opts.MetricsAddr == "0" {
		// Plain HTTP serves /metrics alone, like the secured port: any
		// other path is a 404, not the metrics again.
		mux.Handle("/metrics", s.metricsHandler())
		return s.listen("metrics", s.opts.MetricsAddr, mux)
	}
	mux.Handle("/metrics", s.metricsAuth.Wrap(s.metricsHandler()))
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
	// configureTLS offers h2 only when HTTP/2 is enabled: without it in
	// the listener's ALPN, no client can agree on it.
	s.opts.configureTLS(cfg)
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
