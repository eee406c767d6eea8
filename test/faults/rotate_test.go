package faults

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/load"
)

// rotation is one way a serving certificate is replaced in --cert-dir.
type rotation struct {
	name  string
	write func(dir string, certPEM, keyPEM []byte) error
}

// The ways a certificate reaches the directory: as plain files, written in
// place (tls.crt first, so for a moment it does not match tls.key) or
// renamed over each file; or swapped the way the kubelet updates a Secret
// volume (tls.crt and tls.key are symlinks through ..data, which is
// switched to a new timestamped directory and the old one deleted).
var (
	writtenInPlace = rotation{"written in place", func(dir string, c, k []byte) error {
		if err := os.WriteFile(filepath.Join(dir, "tls.crt"), c, 0o600); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "tls.key"), k, 0o600)
	}}
	renamedOver = rotation{"renamed over", func(dir string, c, k []byte) error {
		if err := harness.ReplaceFile(filepath.Join(dir, "tls.crt"), c); err != nil {
			return err
		}
		return harness.ReplaceFile(filepath.Join(dir, "tls.key"), k)
	}}
	secretVolume = rotation{"Secret volume swap", secretVolumeSwap}
)

// rotationKind is the i-th of n rotations: plain files first, alternating
// the two ways, then Secret volume swaps. Going back from symlinks to plain
// files is no rotation a cluster does (and certwatcher, whose watch
// follows the symlink to the old file, would only see it on its 10 s poll).
func rotationKind(i, n int) rotation {
	switch {
	case i >= n/2:
		return secretVolume
	case i%2 == 0:
		return writtenInPlace
	}
	return renamedOver
}

// secretVolumeSwap writes the pair as the kubelet's atomic writer does:
// a new ..<timestamp> directory, ..data re-pointed to it by a rename, the
// old directory removed. The first time, tls.crt and tls.key become
// symlinks to ..data/.
func secretVolumeSwap(dir string, certPEM, keyPEM []byte) error {
	ts := filepath.Join(dir, ".."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Mkdir(ts, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(ts, name), data, 0o600); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "..data")
	old, _ := os.Readlink(data)
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, data); err != nil {
		return err
	}
	for _, name := range []string{"tls.crt", "tls.key"} {
		path := filepath.Join(dir, name)
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), path+".link"); err != nil {
			return err
		}
		if err := os.Rename(path+".link", path); err != nil {
			return err
		}
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// TestCertificateRotationUnderLoad is R4: the serving certificate is
// replaced several times while eight callers load scaleguard, half of them
// opening a new TLS connection for every review. No handshake and no review
// may fail, and every new certificate must be served.
func TestCertificateRotationUnderLoad(t *testing.T) {
	ctx := context.Background()
	ca, err := harness.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	const first = 100
	certPEM, keyPEM, err := ca.Issue(first)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sg, err := harness.StartWith(ctx, env.binary, dir, harness.Options{CA: ca.PEM, Cert: certPEM, Key: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sg.Stop() })
	s := policies.Defaults()
	reviews, err := load.Mix(&s)
	if err != nil {
		t.Fatal(err)
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	results := make(chan load.Result, 1)
	go func() {
		results <- load.Run(loadCtx, load.Target{Name: "scaleguard", BaseURL: sg.URL(), RootCAs: ca.Pool()},
			load.Options{Concurrency: 8, NoKeepAlive: 4, Duration: 3 * time.Minute, Reviews: reviews})
	}()

	// Let the load settle, then rotate, waiting each time until a new
	// connection is served the new certificate.
	time.Sleep(time.Second)
	serial := int64(first)
	var pickups []time.Duration
	for i := range *rotations {
		serial++
		kind := rotationKind(i, *rotations)
		c, k, err := ca.Issue(serial)
		if err != nil {
			t.Fatal(err)
		}
		if err := kind.write(dir, c, k); err != nil {
			t.Fatalf("rotation %d (%s): %v", i+1, kind.name, err)
		}
		took, err := waitServed(ctx, sg.Port, ca, serial, 15*time.Second)
		if err != nil {
			t.Fatalf("rotation %d (%s): %v", i+1, kind.name, err)
		}
		pickups = append(pickups, took)
		t.Logf("rotation %d, %s: serial %d served %v after the write", i+1, kind.name, serial, took.Round(time.Millisecond))
		time.Sleep(time.Second)
	}
	stopLoad()
	r := <-results

	t.Logf("%d reviews in %v (%.0f/s, p99 %v) over %d TLS handshakes (%d failed); %d errors, %d wrong verdicts; handshakes by serial: %v",
		r.Reviews, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Percentile(0.99).Round(time.Microsecond),
		r.Handshakes, r.FailedHandshakes, r.Errors, r.Wrong, r.Serials)
	t.Logf("rotation → new certificate served: %s", spread(pickups))
	for _, f := range r.Failures {
		t.Error(f)
	}
	if r.FailedHandshakes != 0 || r.Errors != 0 || r.Wrong != 0 {
		t.Errorf("%d failed handshakes, %d errors, %d wrong verdicts; want none", r.FailedHandshakes, r.Errors, r.Wrong)
	}
	for sn := int64(first); sn <= serial; sn++ {
		if r.Serials[strconv.FormatInt(sn, 10)] == 0 {
			t.Errorf("no handshake under load was served certificate %d", sn)
		}
	}
	if r.Handshakes < 100*(*rotations) {
		t.Errorf("only %d handshakes: the rotations were hardly exercised", r.Handshakes)
	}
}

// waitServed polls new TLS connections until the server presents the
// certificate with serial, and returns how long that took.
func waitServed(ctx context.Context, port int, ca *harness.CA, serial int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	want := strconv.FormatInt(serial, 10)
	last := ""
	for time.Since(start) < timeout {
		d := tls.Dialer{Config: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12, ServerName: "127.0.0.1"}}
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return 0, fmt.Errorf("handshake while waiting for the new certificate: %w", err)
		}
		last = c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
		c.Close()
		if last == want {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("certificate %s not served after %v (still %s)", want, timeout, last)
}
