package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func selfSignedPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// subjects lists the CAs of a pool by common name.
func subjects(t *testing.T, c *clientCAs) string {
	t.Helper()
	pool, err := c.current()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	//nolint:staticcheck // Subjects is deprecated for system pools only; this one is built from PEM.
	for _, raw := range pool.Subjects() {
		var n pkix.RDNSequence
		if _, err := asn1.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		var s pkix.Name
		s.FillFromRDNSequence(&n)
		names = append(names, s.CommonName)
	}
	return strings.Join(names, ",")
}

func TestClientCAs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.crt")
	if _, err := newClientCAs(path, logr.Discard()); err == nil || !strings.Contains(err.Error(), "--client-ca-file") {
		t.Errorf("a missing file: want an error naming the flag, got %v", err)
	}
	if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newClientCAs(path, logr.Discard()); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file without a certificate: want an error, got %v", err)
	}
	if err := os.WriteFile(path, selfSignedPEM(t, "first"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := newClientCAs(path, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(t, c); got != "first" {
		t.Errorf("read %q, want first", got)
	}
	// A rotation is read at the next handshake.
	if err := os.WriteFile(path, append(selfSignedPEM(t, "first"), selfSignedPEM(t, "second")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := subjects(t, c); got != "first,second" {
		t.Errorf("after the rotation read %q, want first,second", got)
	}
	// A broken file or none keeps the last good bundle.
	for _, broken := range []func() error{
		func() error { return os.WriteFile(path, []byte("garbage"), 0o600) },
		func() error { return os.Remove(path) },
	} {
		if err := broken(); err != nil {
			t.Fatal(err)
		}
		if got := subjects(t, c); got != "first,second" {
			t.Errorf("after a broken rotation read %q, want the last good first,second", got)
		}
	}
}
