// Package e2e tests scaleguard through a real kube-apiserver: scaleguard
// serve runs as a process, registered with the webhook configurations from
// config/webhook, and requests come from the real kubectl and client-go.
package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// env is the one control plane and scaleguard process shared by the tests;
// tests that stop scaleguard restore it before they end.
var env struct {
	bed      *testbed.Testbed
	sg       *harness.Scaleguard
	webhooks harness.WebhookConfigs
	root     string
	// bin is the scaleguard binary, for tests that start one of their own.
	bin string
}

func TestMain(m *testing.M) {
	testbed.RunMain("e2e", func() (int, error) { return run(m) })
}

func run(m *testing.M) (int, error) {
	standard := policies.Defaults()
	return harness.RunSuite(m, harness.SuiteOptions{
		Name: "e2e",
		// scaleguard's own CRDs, as the chart installs them.
		CRDs: []string{filepath.Join("config", "crd", "bases")},
		// scaleguard watches the test bed, as it watches its cluster in a
		// pod. SCALEGUARD_E2E_SERVE_ARGS adds flags of `scaleguard serve`,
		// so that the suite, or part of it, runs again in another mode
		// (`make unit` runs some with --watch-workloads=true).
		WatchBed: true,
		Args:     strings.Fields(os.Getenv("SCALEGUARD_E2E_SERVE_ARGS")),
		Standard: &standard,
		LogTail:  6000,
	}, func(s *harness.Suite) {
		env.bed, env.sg, env.webhooks, env.root, env.bin = s.Bed, s.SG, s.Webhooks, s.Root, s.Bin
	})
}
