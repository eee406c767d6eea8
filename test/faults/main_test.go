// Package faults breaks scaleguard on purpose while it works: SIGKILLs
// during an apply loop through a real kube-apiserver (R3) and serving
// certificate rotations under load (R4). docs/RELIABILITY.md has the
// results; `make faults` runs the long versions, `make test` short ones.
package faults

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// Test flags; `make faults` sets the long run.
var (
	objects   = flag.Int("objects", 200, "Deployments created per failure policy in the kill loop (make faults: 1000)")
	rotations = flag.Int("rotations", 4, "serving certificate rotations under load (make faults: 8)")
	// R7 and R8 (TestReplicas).
	writeRate     = flag.Int("write-rate", 200, "writes per second through the API server during the replica restarts and the SIGKILL")
	rollingRounds = flag.Int("rolling-rounds", 1, "rolling restarts of every replica under load (make faults: 3)")
	afterKill     = flag.Duration("after-kill", 2*time.Second, "load kept on after the SIGKILLed replica's endpoint is dropped (make faults: 10s)")
	// R9 (TestAPIServerRestart).
	restartObjects = flag.Int("restart-objects", 20, "Deployments, and as many HPAs, in the cluster view while the API server restarts (make faults: 10000)")
	// Off, requests-required never depends on the LimitRange cache, which a
	// restarted process has not synced yet; on is how scaleguard runs in a
	// cluster.
	clusterView = flag.Bool("cluster-view", true, "run scaleguard with its cluster view of the test bed in the kill loop")
)

// env is what every test shares: the scaleguard binary, built once.
var env struct {
	binary string
	root   string
}

func TestMain(m *testing.M) {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard()) // the clients' own log lines are noise here
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	root, err := testbed.RepoRoot()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "scaleguard-faults-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := harness.Build(context.Background(), root, dir)
	if err != nil {
		return 0, err
	}
	env.binary, env.root = bin, root
	return m.Run(), nil
}
