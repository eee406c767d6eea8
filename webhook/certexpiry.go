package webhook

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// certExpiry reads the serving certificate's NotAfter from disk on every
// scrape, so it follows renewals without any state of its own. It reports
// NaN when the file cannot be read: an alert on expiry must not fire on a
// scrape that merely failed to read it, and certwatcher's own error counter
// covers unreadable files.
func certExpiry(path string) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scaleguard_serving_certificate_expiry_timestamp_seconds",
		Help: "NotAfter of the serving certificate on disk, as a Unix time.",
	}, func() float64 {
		t, err := notAfter(path)
		if err != nil {
			return math.NaN()
		}
		return float64(t)
	})
}

func notAfter(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return 0, errors.New("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return 0, err
	}
	return cert.NotAfter.Unix(), nil
}

// servingCertPath and servingKeyPath are where the webhook server reads
// its certificate and key, in controller-runtime's default folder when none
// is given.
func servingCertPath(o Options) string { return filepath.Join(servingCertDir(o), o.CertName) }

func servingKeyPath(o Options) string { return filepath.Join(servingCertDir(o), o.KeyName) }

func servingCertDir(o Options) string {
	if o.CertDir == "" {
		return filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
	return o.CertDir
}
