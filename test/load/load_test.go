package load

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
)

func muxes(t testing.TB) map[string]http.Handler {
	s := policies.Defaults()
	h, err := Handlers(&s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mix(t testing.TB) []*Review {
	s := policies.Defaults()
	reviews, err := Mix(&s)
	if err != nil {
		t.Fatal(err)
	}
	return reviews
}

// TestMixSizes keeps the reviews at the sizes the load results name.
func TestMixSizes(t *testing.T) {
	want := map[string][2]int{
		"hpa-mutate-5k": {4_500, 6_500}, "hpa-mutate-25k": {23_000, 27_000},
		"hpa-validate": {4_500, 7_000}, "hpa-validate-v1-denied": {4_500, 7_000},
		"deployment-validate": {23_000, 27_000}, "deployment-validate-denied": {23_000, 27_000},
	}
	reviews := mix(t)
	if len(reviews) != len(want) {
		t.Fatalf("%d reviews, want %d", len(reviews), len(want))
	}
	for _, r := range reviews {
		if w, ok := want[r.Name]; !ok || r.Size() < w[0] || r.Size() > w[1] {
			t.Errorf("%s is %d bytes, want %v", r.Name, r.Size(), w)
		}
	}
}

// TestRunChecksVerdicts loads both handler sets over TLS and expects every
// verdict right; a server answering the wrong thing must be caught.
func TestRunChecksVerdicts(t *testing.T) {
	ca, err := harness.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(7)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(h http.Handler) Target {
		srv := httptest.NewUnstartedServer(h)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return Target{Name: "test", BaseURL: srv.URL, RootCAs: ca.Pool()}
	}
	reviews := mix(t)
	for name, mux := range muxes(t) {
		if name == "floor" {
			continue // it judges nothing: below
		}
		t.Run(name, func(t *testing.T) {
			r := Run(context.Background(), serve(mux), Options{Concurrency: 3, NoKeepAlive: 1, MaxReviews: 120, Duration: 20 * time.Second, Reviews: reviews})
			if r.Reviews != 120 || r.Errors != 0 || r.Wrong != 0 {
				t.Fatalf("%d reviews, %d errors, %d wrong: %q", r.Reviews, r.Errors, r.Wrong, r.Failures)
			}
			// One keep-alive connection per other caller, one per review of
			// the first: how many reviews the first gets depends on how
			// fast the server answers the others.
			if r.FailedHandshakes != 0 || r.Handshakes < 3 || r.Serials["7"] != r.Handshakes {
				t.Errorf("handshakes %d (failed %d), serials %v", r.Handshakes, r.FailedHandshakes, r.Serials)
			}
			// A caller without keep-alive alone: exactly one per review.
			r = Run(context.Background(), serve(mux), Options{Concurrency: 1, NoKeepAlive: 1, MaxReviews: 20, Duration: 20 * time.Second, Reviews: reviews})
			if r.Reviews != 20 || r.Errors != 0 || r.Wrong != 0 || r.Handshakes != 20 || r.FailedHandshakes != 0 {
				t.Errorf("without keep-alive: %d reviews, %d errors, %d wrong, %d handshakes (%d failed), want 20, 0, 0, 20, 0",
					r.Reviews, r.Errors, r.Wrong, r.Handshakes, r.FailedHandshakes)
			}
		})
	}

	// The floor admits everything without a patch: wrong on four reviews
	// out of six.
	r := Run(context.Background(), serve(Floor("")), Options{Concurrency: 2, MaxReviews: 60, Duration: 20 * time.Second, Reviews: reviews})
	if r.Errors != 0 || r.Wrong != 40 {
		t.Errorf("a server admitting everything: %d errors, %d wrong, want 0 and 40", r.Errors, r.Wrong)
	}
}

// BenchmarkMix measures each review of the mix through each handler set in
// process: HTTP body to answer, without TLS or the network. With
// -cpuprofile it shows where a server's time goes.
func BenchmarkMix(b *testing.B) {
	reviews := mix(b)
	for _, name := range []string{"scaleguard", "stock", "floor"} {
		mux := muxes(b)[name]
		for _, r := range reviews {
			b.Run(name+"/"+r.Name, func(b *testing.B) {
				serve := func() *httptest.ResponseRecorder { return serveReview(mux, r) }
				if answer := serve().Body.Bytes(); name != "floor" {
					if err := r.Check(answer); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(r.Size()))
				b.ReportAllocs()
				for b.Loop() {
					if rec := serve(); rec.Code != http.StatusOK {
						b.Fatalf("HTTP %d", rec.Code)
					}
				}
			})
		}
	}
}

// TestWriteSection replaces only its own section and keeps the others'.
func TestWriteSection(t *testing.T) {
	path := t.TempDir() + "/PERFORMANCE.md"
	if err := WriteSection(path, "## Load", "## Load\n\nfirst\n"); err != nil {
		t.Fatal(err)
	}
	doc := "# Performance\n\n## Cluster view memory\n\ntheirs\n\n## Load\n\nold\n### detail\n\nold too\n\n## Later\n\nkept\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(path, "## Load", "## Load\n\nnew\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Performance\n\n## Cluster view memory\n\ntheirs\n\n## Load\n\nnew\n\n## Later\n\nkept\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
