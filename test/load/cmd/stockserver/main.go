// Command stockserver serves test/stock — scaleguard's rules behind
// controller-runtime's typed Defaulter and Validator — the way a
// kubebuilder-scaffolded webhook does: controller-runtime's webhook server,
// TLS from --cert-dir (reloaded by its certwatcher), HTTP/1.1 only. It is
// the baseline test/load measures `scaleguard serve` against.
//
// With --floor it judges nothing: every review is decoded with
// encoding/json and allowed, the least any webhook behind this server can
// cost (test/apibench's "webhook floor"); only an object named by
// --floor-refuses is refused, so that a caller can tell it is called.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/load"
	"github.com/scaleguard/scaleguard/test/stock"
)

func main() {
	port := flag.Int("port", 9443, "webhook HTTPS port on 127.0.0.1")
	certDir := flag.String("cert-dir", "", "directory holding tls.crt and tls.key")
	floor := flag.Bool("floor", false, "allow every review after decoding it, judging nothing")
	refuse := flag.String("floor-refuses", "", "with --floor, the name of objects to refuse")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())

	s := policies.Defaults()
	h, err := stock.NewHandlers(&s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stockserver:", err)
		os.Exit(1)
	}
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host: "127.0.0.1", Port: *port, CertDir: *certDir,
		// The scaffold's default, --enable-http2=false, and scaleguard's TLS floor.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"}; c.MinVersion = tls.VersionTLS13 }},
	})
	if *floor {
		for _, path := range []string{load.PathMutateHPA, load.PathValidateHPA, load.PathMutateWorkload, load.PathValidateWorkload} {
			srv.Register(path, load.Floor(*refuse))
		}
	} else {
		srv.Register(load.PathMutateHPA, h.MutateHPA)
		srv.Register(load.PathValidateHPA, h.ValidateHPA)
		srv.Register(load.PathValidateWorkload, h.ValidateDeployment)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stockserver:", err)
		os.Exit(1)
	}
}
