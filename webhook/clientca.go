package webhook

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/go-logr/logr"
)

// clientCAs verifies the certificate a caller presents against the CA
// bundle of a file (Options.ClientCAFile), so that only the API server,
// configured with a client certificate for scaleguard's webhooks (an
// AdmissionConfiguration's kubeConfigFile), can call them. Anyone else is
// refused in the TLS handshake, before a request is read.
//
// The file is read again when it changes (checked at each handshake, which
// the API server makes once per connection it keeps), so a CA rotated in
// its mounted ConfigMap or Secret applies without a restart. A file that
// can no longer be read, or holds no certificate, keeps the last good
// bundle and is logged: a broken rotation must not refuse the API server.
type clientCAs struct {
	path string
	log  logr.Logger

	mu   sync.Mutex
	raw  []byte
	pool *x509.CertPool
}

// newClientCAs reads path once, and fails when it holds no certificate: a
// server started with it would refuse every caller.
func newClientCAs(path string, log logr.Logger) (*clientCAs, error) {
	c := &clientCAs{path: path, log: log}
	if _, err := c.current(); err != nil {
		return nil, err
	}
	return c, nil
}

// current returns the bundle of the file as it is now, or the last good one
// when it cannot be read.
func (c *clientCAs) current() (*x509.CertPool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, err := os.ReadFile(c.path)
	if err == nil && bytes.Equal(raw, c.raw) {
		return c.pool, nil
	}
	var pool *x509.CertPool
	if err == nil {
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(raw) {
			err = errors.New("no PEM certificate in it")
		}
	}
	if err != nil {
		err = fmt.Errorf("client CA file %s: %w (set --client-ca-file to the PEM bundle of the CA that signed the API server's client certificate)", c.path, err)
		if c.pool == nil {
			return nil, err
		}
		c.log.Error(err, "keeping the client CA bundle read before")
		return c.pool, nil
	}
	c.raw, c.pool = raw, pool
	return pool, nil
}

// configure makes base require a client certificate signed by the file's
// CA. base is the server's own config, which controller-runtime completes
// (the serving certificate's GetCertificate) after its options ran; each
// handshake gets a copy of it as it is then, with the bundle as it is then.
func (c *clientCAs) configure(base *tls.Config) {
	base.ClientAuth = tls.RequireAndVerifyClientCert
	base.ClientCAs = c.pool
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		pool, err := c.current()
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		cfg.GetConfigForClient = nil
		cfg.ClientCAs = pool
		return cfg, nil
	}
}
