package gitops

import (
	"testing"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// env is the control plane and the scaleguard process the tests share.
var env struct {
	bed  *testbed.Testbed
	sg   *harness.Scaleguard
	root string
	// bin is the scaleguard binary, for `scaleguard check --fix`.
	bin string
}

func TestMain(m *testing.M) {
	testbed.RunMain("gitops", func() (int, error) { return run(m) })
}

func run(m *testing.M) (int, error) {
	return harness.RunSuite(m, harness.SuiteOptions{
		Name: "gitops",
		// No cluster view (the mutations read the HPA alone), and the
		// configurations without matchConditions: every HPA write is sent
		// to the mutating webhook, so that "nothing to patch" is
		// scaleguard's own answer to the fixed manifest and not the API
		// server's filter.
		LogTail: 4000,
	}, func(s *harness.Suite) {
		env.bed, env.sg, env.root, env.bin = s.Bed, s.SG, s.Root, s.Bin
	})
}
