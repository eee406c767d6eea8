// Package load drives admission webhook servers with AdmissionReviews the
// way a busy API server does — over loopback TLS, with keep-alive, from
// many callers at once — and checks every verdict. The loadgen command
// compares `scaleguard serve` with the stock controller-runtime server
// (test/stock) across a concurrency sweep; test/faults uses Run to load
// scaleguard while it rotates certificates.
package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a webhook server to load.
type Target struct {
	Name string
	// BaseURL is https://127.0.0.1:port.
	BaseURL string
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool
}

// Options bound one run.
type Options struct {
	// Concurrency is the number of callers, each sending its next review as
	// soon as the last is answered.
	Concurrency int
	// Duration and MaxReviews end the run, whichever comes first; zero
	// means no limit of that kind (one must be set).
	Duration   time.Duration
	MaxReviews int
	// NoKeepAlive callers (the first ones) open a new connection, and so
	// make a TLS handshake, for every review.
	NoKeepAlive int
	// Reviews are sent in turn, each caller starting at a different one.
	Reviews []*Review
	// Timeout bounds one review, as the webhook configurations' 5 s do.
	Timeout time.Duration
}

// Result is what a run saw.
type Result struct {
	Target      string
	Concurrency int
	// Reviews counts answers, right or wrong; Errors counts reviews that
	// got no well-formed answer (transport errors, non-200 statuses,
	// undecodable bodies); Wrong counts answers with the wrong verdict.
	Reviews, Errors, Wrong int
	Elapsed                time.Duration
	// Latencies of the answered reviews, sorted.
	Latencies []time.Duration
	// Handshakes and FailedHandshakes count TLS connections made; Serials
	// counts handshakes by the serial number of the certificate served.
	Handshakes, FailedHandshakes int
	Serials                      map[string]int
	// Failures keeps the first few error and wrong-verdict messages.
	Failures []string
}

// Rate is answered reviews per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Reviews) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which fraction p of answers fell.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p+0.5) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

// Merge adds up results of the same target and concurrency, as rounds of
// one step.
func Merge(rs ...Result) Result {
	var out Result
	out.Serials = map[string]int{}
	for _, r := range rs {
		out.Target, out.Concurrency = r.Target, r.Concurrency
		out.Reviews += r.Reviews
		out.Errors += r.Errors
		out.Wrong += r.Wrong
		out.Elapsed += r.Elapsed
		out.Latencies = append(out.Latencies, r.Latencies...)
		out.Handshakes += r.Handshakes
		out.FailedHandshakes += r.FailedHandshakes
		for k, v := range r.Serials {
			out.Serials[k] += v
		}
		out.Failures = append(out.Failures, r.Failures...)
	}
	slices.Sort(out.Latencies)
	if len(out.Failures) > maxFailures {
		out.Failures = out.Failures[:maxFailures]
	}
	return out
}

const maxFailures = 10

// tally is what the callers of one run share.
type tally struct {
	mu                          sync.Mutex
	errors, wrong               int
	failures                    []string
	serials                     map[string]int
	handshakes, failedHandshake atomic.Int64
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(err, ErrWrongVerdict) {
		t.wrong++
	} else {
		t.errors++
	}
	if len(t.failures) < maxFailures {
		t.failures = append(t.failures, err.Error())
	}
}

// dialer makes the TLS connections of one run and counts them. A dial
// abandoned because the run ended is neither a handshake nor a failure.
func (t *tally) dialer(target Target) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c := tls.Client(raw, &tls.Config{RootCAs: target.RootCAs, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, ServerName: host})
			if err = c.HandshakeContext(ctx); err == nil {
				t.handshakes.Add(1)
				if certs := c.ConnectionState().PeerCertificates; len(certs) > 0 {
					t.mu.Lock()
					t.serials[certs[0].SerialNumber.String()]++
					t.mu.Unlock()
				}
				return c, nil
			}
			raw.Close()
			err = fmt.Errorf("TLS handshake: %w", err)
		}
		if ctx.Err() == nil {
			t.handshakes.Add(1)
			t.failedHandshake.Add(1)
		}
		return nil, err
	}
}

// Run loads target until ctx ends or o's bounds are reached.
func Run(ctx context.Context, target Target, o Options) Result {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	t := &tally{serials: map[string]int{}}
	transport := func(keepAlive bool) *http.Transport {
		return &http.Transport{
			DialTLSContext:      t.dialer(target),
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: o.Concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
	}
	shared := transport(true)
	defer shared.CloseIdleConnections()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var sent atomic.Int64
	latencies := make([][]time.Duration, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		tr := shared
		if w < o.NoKeepAlive {
			tr = transport(false)
		}
		client := &http.Client{Transport: tr, Timeout: o.Timeout}
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				if o.MaxReviews > 0 && sent.Add(1) > int64(o.MaxReviews) {
					return
				}
				r := o.Reviews[i%len(o.Reviews)]
				took, err := send(ctx, client, target.BaseURL, r)
				if ctx.Err() != nil && err != nil {
					return // the run ended with this review in flight
				}
				if took > 0 {
					latencies[w] = append(latencies[w], took)
				}
				if err != nil {
					t.fail(fmt.Errorf("%s %s: %w", target.Name, r.Name, err))
				}
			}
		})
	}
	wg.Wait()
	res := Result{Target: target.Name, Concurrency: o.Concurrency, Elapsed: time.Since(start),
		Errors: t.errors, Wrong: t.wrong, Failures: t.failures, Serials: t.serials,
		Handshakes: int(t.handshakes.Load()), FailedHandshakes: int(t.failedHandshake.Load())}
	for _, l := range latencies {
		res.Latencies = append(res.Latencies, l...)
	}
	res.Reviews = len(res.Latencies)
	slices.Sort(res.Latencies)
	return res
}

// send posts one review and checks the answer. took is zero when no answer
// arrived.
func send(ctx context.Context, client *http.Client, baseURL string, r *Review) (took time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+r.Path+"?timeout=5s", bytes.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, */*")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	took = time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	return took, r.Check(body)
}
